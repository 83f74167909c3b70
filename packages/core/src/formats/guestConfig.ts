/**
 * Guest config files as Proxmox VE writes them: `qemu-server/<vmid>.conf` for VMs and
 * `lxc/<vmid>.conf` for containers. Both share one shape:
 *
 * ```text
 * #description line, percent-escaped
 * key: value
 * ...
 *
 * [PENDING]            (containers: [pve:pending])
 * key: new value
 * delete: key1,!key2
 *
 * [special:cloudinit]  (VMs only)
 * key: value
 *
 * [snapname]
 * #snapshot description
 * parent: ...
 * snaptime: 1700000000
 * ```
 *
 * {@link parseGuestConfig} follows qemu-server's `parse_vm_config` and pve-container's
 * `parse_pct_config` (in their strict mode: what they would warn about is an error here),
 * {@link serializeGuestConfig} their `write_*_config`, except that entries keep the order
 * they have in the model (Proxmox sorts keys; a file Proxmox wrote is therefore already in
 * that order). Keys are not validated here (a config with keys unknown to Corral imports as
 * it is): see `validateGuestConfig` in `schema/`.
 *
 * @packageDocumentation
 */
import type { GuestConfigDialect } from '../contracts/hypervisor.js';
import { InvalidArgumentError, InvalidConfigError, ParseError } from '../errors.js';
import { CONFIG_LIMITS, excerpt, fileSizeProblem, forbiddenCharProblem, isBlank, splitConfigLines, trimBlanks } from './configText.js';
import { decodeProxmoxText, encodeProxmoxText } from './proxmoxText.js';

/** One `key: value` line. Values are kept as written, without the surrounding spaces. */
export interface ConfigEntry {
  key: string;
  value: string;
}

/**
 * One section of a guest config: the main config, the pending changes, a special section or
 * a snapshot.
 */
export interface GuestConfigSection {
  /**
   * The description (the section's `#` lines, decoded, joined with `\n`, trailing white space
   * removed). `undefined` when the section has none, or only white space (Proxmox writes no
   * such description), except in a VM's pending section, where `''` is qemu-server's lone `#`
   * ("description emptied"). As long as it is not changed, the `#` lines are written back
   * exactly as they were read.
   */
  description?: string;
  /**
   * The `key: value` lines in order. Keys are unique except container `lxc.*` keys, which may
   * repeat (`lxc.mount.entry`, `lxc.idmap`...). `delete` (pending deletions) appears only in
   * the pending section.
   */
  entries: ConfigEntry[];
}

/** A parsed guest config: the main section plus pending changes, special sections and snapshots. */
export interface GuestConfig<T extends GuestConfigDialect = GuestConfigDialect> extends GuestConfigSection {
  /** Which guest type the file belongs to (decides the pending header and the allowed keys). */
  readonly type: T;
  /** The pending changes (`[PENDING]` / `[pve:pending]`); written only when not empty. */
  pending?: GuestConfigSection;
  /** VM special sections by name (`cloudinit`, `fleecing`), in file order. Always empty for containers. */
  special: Map<string, GuestConfigSection>;
  /** Snapshots by name, in file order. */
  snapshots: Map<string, GuestConfigSection>;
}

/** Options of {@link parseGuestConfig}. */
export interface ParseGuestConfigOptions<T extends GuestConfigDialect = GuestConfigDialect> {
  /** The guest type: `qemu` (qemu-server) or `lxc` (pve-container). */
  readonly type: T;
  /** The file name or other origin, named in parse errors. Default: `<type> config`. */
  readonly source?: string;
}

/** Keys of VMs as qemu-server accepts them: a letter, letters, `_` or `-`, then digits. */
const QEMU_KEY = /^[a-z][a-z_-]*\d*$/;
/** Keys of containers as pve-container accepts them (no `-`). */
const LXC_KEY = /^[a-z][a-z_]*\d*$/;
/** Raw LXC keys passed through to LXC; `key = value` is accepted on input too. */
const LXC_RAW_KEY = /^lxc\.[a-z0-9_.-]+$/;
/** Snapshot names (Proxmox's `pve-configid`, as matched in section headers). */
const SNAPSHOT_NAME = /^[a-z][a-z0-9_-]+$/i;
/** The special sections qemu-server knows (its strict parse refuses any other). */
export const QEMU_SPECIAL_SECTIONS: ReadonlySet<string> = new Set(['cloudinit', 'fleecing']);

/**
 * `#` lines that came after a section's first key (vzdump's `#qmdump#map:` lines, notes by
 * hand): not part of the description, written back where they were, before the entry they
 * preceded (or at the end of the section).
 */
const commentsBefore = new WeakMap<ConfigEntry, readonly string[]>();
const trailingComments = new WeakMap<GuestConfigSection, readonly string[]>();

/** Configs read from a file without a final line feed: written back without one. */
const noFinalNewline = new WeakSet<GuestConfig>();

/** `#` lines as read, kept while the description they decode to is unchanged (`undefined` for white space only). */
const rawDescriptions = new WeakMap<GuestConfigSection, { readonly lines: readonly string[]; readonly description: string | undefined }>();

type SectionKind = 'main' | 'pending' | 'special' | 'snapshot';


function isKeyStart(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

/**
 * The end of the config key at the start of `line` (`[a-z][a-z_-]*\d*`, without `-` for
 * containers), or 0 when the line does not start with one. A hand-written scan: linear.
 */
function scanKey(line: string, allowDash: boolean): number {
  if (!isKeyStart(line.charCodeAt(0))) return 0;
  let i = 1;
  for (;;) {
    const c = line.charCodeAt(i);
    if (isKeyStart(c) || c === 0x5f || (allowDash && c === 0x2d)) i++;
    else break;
  }
  while (line.charCodeAt(i) >= 0x30 && line.charCodeAt(i) <= 0x39) i++;
  return i;
}

/**
 * The value after a raw `lxc.*` key ending at `end` (`lxc.key: value` or `lxc.key = value`),
 * or `undefined` when the line is not a raw line.
 */
function rawLxcValue(line: string, end: number): string | undefined {
  if (line.charCodeAt(end) === 0x3a) return line.slice(end + 1);
  let i = end;
  while (isBlank(line.charCodeAt(i))) i++;
  return line.charCodeAt(i) === 0x3d ? line.slice(i + 1) : undefined;
}

function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isBlank(line.charCodeAt(i))) return false;
  return true;
}

/** Why a value read or written for `key` is not a config value, or `undefined`. */
function valueProblem(key: string, value: string): string | undefined {
  if (value.length > CONFIG_LIMITS.valueLength) return `value of '${key}' is longer than ${CONFIG_LIMITS.valueLength} characters`;
  const problem = forbiddenCharProblem(value);
  return problem && `value of '${key}' ${problem}`;
}

/** Why a description is not one a config can hold, or `undefined`. */
function descriptionProblem(description: string): string | undefined {
  const problem = forbiddenCharProblem(description, { newline: true });
  return problem && `description ${problem}`;
}

/**
 * Parses the text of a guest config file.
 *
 * Lines are split on `\n` (a trailing `\r` is dropped); blanks are space and tab. Every parse
 * is bounded: see {@link CONFIG_LIMITS}. No regular expression that can backtrack is applied
 * to a line.
 *
 * @returns The sections with their entries in file order. The `#` lines before a section's
 *   first key are its description (where Proxmox writes it); `#` lines after a key (vzdump's
 *   `#qmdump#map:` lines, hand-written notes) are not, and are written back where they were.
 *   A description of only white space reads as none (as it is written), except in a VM's
 *   pending section (`''`, qemu-server's "description emptied"); its `#` lines are still written
 *   back as read. Blank lines are ignored. A pending section without entries or description
 *   is left out.
 *   `key: ` (a blank, no value) reads as an empty value (Proxmox's empty `boot: `); a file
 *   without a final line feed is written back without one.
 * @throws ParseError (`line` is 1-based) for a line that is neither a comment, a `key: value`
 *   line nor a section header, an unknown or repeated section, a repeated key (except `lxc.*`),
 *   `delete:` outside the pending section, a special section other than `cloudinit` and
 *   `fleecing`, a key without value (`memory:`), a value or description with
 *   a character no config may hold (see `findForbiddenChar`), or text past the limits.
 * @throws InvalidArgumentError when `options.type` is not `qemu` or `lxc`.
 */
export function parseGuestConfig<T extends GuestConfigDialect>(text: string, options: ParseGuestConfigOptions<T>): GuestConfig<T> {
  const type: T = options?.type;
  if (type !== 'qemu' && type !== 'lxc') {
    throw new InvalidArgumentError('type', `guest type must be 'qemu' or 'lxc', got '${String(type)}'`);
  }
  const source = options.source ?? `${type} config`;
  if (typeof text !== 'string') throw new ParseError(source, 'config text is not a string');

  const config: GuestConfig<T> = { type, entries: [], special: new Map(), snapshots: new Map() };
  let current: GuestConfigSection = config;
  let kind = 'main' as SectionKind;
  let keys = new Set<string>();
  let descText: string | undefined;
  let descLines: string[] = [];
  let descExact = true;

  let pendingComments: string[] = [];
  const pushEntry = (entry: ConfigEntry): void => {
    if (pendingComments.length > 0) commentsBefore.set(entry, pendingComments);
    pendingComments = [];
    current.entries.push(entry);
  };
  const finishSection = (): void => {
    if (pendingComments.length > 0) trailingComments.set(current, pendingComments);
    pendingComments = [];
    if (descText !== undefined) {
      // What the writer writes for it: a blank description is none, except a VM's pending one.
      const trimmed = descText.trimEnd();
      const description = trimmed === '' && !(kind === 'pending' && type === 'qemu') ? undefined : trimmed;
      if (description !== undefined) current.description = description;
      if (descExact) rawDescriptions.set(current, { lines: descLines, description });
    }
    descText = undefined;
    descLines = [];
    descExact = true;
    keys = new Set();
  };
  const openSection = (next: GuestConfigSection, nextKind: SectionKind): void => {
    finishSection();
    current = next;
    kind = nextKind;
  };

  const lines = splitConfigLines(text, source);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNo = index + 1;
    const fail = (message: string): never => {
      throw new ParseError(source, message, lineNo);
    };
    if (line.length > CONFIG_LIMITS.lineLength) fail(`line is longer than ${CONFIG_LIMITS.lineLength} characters`);
    if (isBlankLine(line)) continue;

    if (line.startsWith('[')) {
      let end = line.length;
      while (isBlank(line.charCodeAt(end - 1))) end--;
      const inner = line.slice(1, end - 1);
      if (line.charCodeAt(end - 1) !== 0x5d || end < 2 || inner.includes(']')) fail(`unable to parse config line '${excerpt(line)}'`);
      if (inner.length > CONFIG_LIMITS.keyLength) fail(`section name is longer than ${CONFIG_LIMITS.keyLength} characters`);
      const lower = inner.toLowerCase();
      if ((type === 'qemu' && lower === 'pending') || (type === 'lxc' && lower === 'pve:pending')) {
        if (config.pending) fail('duplicate pending section');
        const pending: GuestConfigSection = { entries: [] };
        config.pending = pending;
        openSection(pending, 'pending');
      } else if (type === 'qemu' && lower.startsWith('special:')) {
        const name = inner.slice('special:'.length);
        if (!QEMU_SPECIAL_SECTIONS.has(name)) fail(`unknown special section '[special:${excerpt(name)}]' (qemu-server knows ${[...QEMU_SPECIAL_SECTIONS].join(', ')})`);
        if (config.special.has(name)) fail(`duplicate special section '${name}'`);
        const section: GuestConfigSection = { entries: [] };
        config.special.set(name, section);
        openSection(section, 'special');
      } else if (SNAPSHOT_NAME.test(inner)) {
        if (config.snapshots.has(inner)) fail(`duplicate snapshot section '${inner}'`);
        const section: GuestConfigSection = { entries: [] };
        config.snapshots.set(inner, section);
        openSection(section, 'snapshot');
      } else {
        fail(`unknown section '[${excerpt(inner)}]'`);
      }
      continue;
    }

    if (line.startsWith('#') && current.entries.length > 0) {
      const problem = descriptionProblem(line);
      if (problem) fail(problem);
      pendingComments.push(line);
      continue;
    }
    if (line.startsWith('#')) {
      const payload = line.slice(1);
      const decoded = decodeProxmoxText(payload);
      const problem = descriptionProblem(payload) ?? descriptionProblem(decoded);
      if (problem) fail(problem);
      descLines.push(payload);
      descText = (descText ?? '') + decoded + '\n';
      continue;
    }

    if (type === 'lxc' && line.startsWith('lxc.')) {
      let end = 4;
      for (let c = line.charCodeAt(end); (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d; c = line.charCodeAt(++end));
      const rest = end > 4 ? rawLxcValue(line, end) : undefined;
      if (rest === undefined) fail(`unable to parse config line '${excerpt(line)}'`);
      const key = line.slice(0, end);
      const value = trimBlanks(rest!);
      if (key.length > CONFIG_LIMITS.keyLength) fail(`key '${excerpt(key)}' is longer than ${CONFIG_LIMITS.keyLength} characters`);
      const problem = valueProblem(key, value);
      if (problem) fail(problem);
      pushEntry({ key, value });
      continue;
    }

    const end = scanKey(line, type === 'qemu');
    if (end === 0 || line.charCodeAt(end) !== 0x3a) fail(`unable to parse config line '${excerpt(line)}'`);
    const key = line.slice(0, end);
    const value = trimBlanks(line.slice(end + 1));
    if (key.length > CONFIG_LIMITS.keyLength) fail(`key '${excerpt(key)}' is longer than ${CONFIG_LIMITS.keyLength} characters`);
    // `boot: ` (a blank, no value) is what Proxmox writes for an empty boot order; `memory:` is no line at all.
    if (value === '' && (end + 1 === line.length || key === 'description')) fail(`'${key}' has no value`);
    const problem = valueProblem(key, value);
    if (problem) fail(problem);
    if (key === 'description') {
      // Old configs stored the description as a key; Proxmox appends it as it is.
      const decoded = decodeProxmoxText(value);
      const bad = descriptionProblem(decoded);
      if (bad) fail(bad);
      descText = (descText ?? '') + decoded;
      descExact = false;
      continue;
    }
    if (key === 'delete' && kind !== 'pending') fail(`'delete' is only allowed in the pending section`);
    if (keys.has(key)) fail(`duplicate key '${key}'`);
    keys.add(key);
    pushEntry({ key, value });
  }
  finishSection();
  if (config.pending && isEmptySection(config.pending)) delete config.pending;
  if (text.length > 0 && !text.endsWith('\n')) noFinalNewline.add(config);
  return config;
}

/** Splits a description into lines as Perl's `split(/\n/, ...)` does (trailing empty lines dropped). */
function descriptionLines(description: string): string[] {
  const lines = description.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function writeSection(section: GuestConfigSection, kind: SectionKind, type: GuestConfigDialect): string {
  let out = '';
  const { description } = section;
  const raw = rawDescriptions.get(section);
  if (raw && raw.description === description) {
    for (const line of raw.lines) out += `#${line}\n`;
  } else if (description !== undefined) {
    if (typeof description !== 'string') {
      throw new InvalidConfigError('description', description, 'description must be a string');
    }
    if (description.trimEnd() !== '') {
      const problem = descriptionProblem(description);
      if (problem) throw new InvalidConfigError('description', description, problem);
      for (const line of descriptionLines(description)) {
        const encoded = `#${encodeProxmoxText(line)}\n`;
        if (encoded.length > CONFIG_LIMITS.lineLength) {
          throw new InvalidConfigError('description', description, `a description line is longer than ${CONFIG_LIMITS.lineLength} characters once escaped`);
        }
        out += encoded;
      }
    } else if (kind === 'pending' && type === 'qemu') {
      // qemu-server marks "description set to empty" in [PENDING] with a lone '#'.
      out += '#\n';
    }
  }

  const keyPattern = type === 'qemu' ? QEMU_KEY : LXC_KEY;
  const seen = new Set<string>();
  for (const entry of section.entries) {
    const { key, value } = entry ?? ({} as ConfigEntry);
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new InvalidConfigError(String(key), value, `config entry '${String(key)}' must have a string key and value`);
    }
    if (key.length > CONFIG_LIMITS.keyLength) {
      throw new InvalidConfigError(key, value, `config key '${excerpt(key)}' is longer than ${CONFIG_LIMITS.keyLength} characters`);
    }
    const isRaw = type === 'lxc' && LXC_RAW_KEY.test(key);
    if (!isRaw) {
      if (key === 'description') {
        throw new InvalidConfigError(key, value, `'description' is not an entry: set the section's description instead`);
      }
      if (!keyPattern.test(key)) throw new InvalidConfigError(key, value, `'${excerpt(key)}' is not a valid ${type} config key`);
      if (key === 'delete' && kind !== 'pending') {
        throw new InvalidConfigError(key, value, `'delete' is only allowed in the pending section`);
      }
      if (seen.has(key)) throw new InvalidConfigError(key, value, `duplicate config key '${key}'`);
      seen.add(key);
    }
    const problem = valueProblem(key, value);
    if (problem) throw new InvalidConfigError(key, value, problem);
    if (trimBlanks(value) !== value) {
      throw new InvalidConfigError(key, value, `value of '${key}' has leading or trailing blanks, which would be lost`);
    }
    for (const line of commentsBefore.get(entry) ?? []) out += `${line}\n`;
    out += `${key}: ${value}\n`;
  }
  for (const line of trailingComments.get(section) ?? []) out += `${line}\n`;
  return out;
}

function isEmptySection(section: GuestConfigSection): boolean {
  return section.entries.length === 0 && section.description === undefined;
}

/**
 * Writes a guest config as Proxmox does: the main section (description as `#` lines, then the
 * entries), then `[PENDING]` (`[pve:pending]` for containers) when there are pending changes,
 * then the special sections, then the snapshots, each section after one blank line. Entries,
 * special sections and snapshots keep the model's order.
 *
 * For a config read by {@link parseGuestConfig} from a file in the shape Proxmox writes
 * (sorted keys, one `key: value` per line, comments first), the output is that file byte for byte.
 *
 * A description is written as one `#` line per line, escaped; its trailing white space is
 * dropped (it reads back without), and a description that is only white space is not written
 * (except the lone `#` of an emptied description in a VM's `[PENDING]`).
 *
 * @throws InvalidConfigError naming the key (or `description`) for anything that could not be
 *   read back the same: an invalid key (such as one ending in `:`), surrounding blanks, a
 *   character no config may hold (control characters, U+2028/U+2029, unpaired surrogates: see `findForbiddenChar`; descriptions may hold line
 *   feeds and tabs), a key or value past {@link CONFIG_LIMITS}, a repeated key, `description`
 *   as an entry, `delete` outside the pending section.
 * @throws InvalidArgumentError for an invalid snapshot or special section name, a VM snapshot
 *   named `pending`, special sections in a container config, or a file past
 *   {@link CONFIG_LIMITS}`.fileBytes`.
 */
export function serializeGuestConfig(config: GuestConfig): string {
  const type = config?.type;
  if (type !== 'qemu' && type !== 'lxc') {
    throw new InvalidArgumentError('config', `config.type must be 'qemu' or 'lxc', got '${String(type)}'`);
  }
  let out = writeSection(config, 'main', type);
  const pending = config.pending && !isEmptySection(config.pending) ? writeSection(config.pending, 'pending', type) : '';
  if (pending !== '') out += (type === 'qemu' ? '\n[PENDING]\n' : '\n[pve:pending]\n') + pending;
  if (config.special.size > 0 && type !== 'qemu') {
    throw new InvalidArgumentError('config', 'container configs have no special sections');
  }
  for (const [name, section] of config.special) {
    if (typeof name !== 'string' || !QEMU_SPECIAL_SECTIONS.has(name)) {
      throw new InvalidArgumentError('config', `unknown special section name '${excerpt(String(name))}' (qemu-server knows ${[...QEMU_SPECIAL_SECTIONS].join(', ')})`);
    }
    out += `\n[special:${name}]\n` + writeSection(section, 'special', type);
  }
  for (const [name, section] of config.snapshots) {
    if (typeof name !== 'string' || !SNAPSHOT_NAME.test(name) || name.length > CONFIG_LIMITS.keyLength) {
      throw new InvalidArgumentError(
        'config',
        `invalid snapshot name '${excerpt(String(name))}': a letter, then letters, digits, '_' or '-' (2 to ${CONFIG_LIMITS.keyLength} characters)`,
      );
    }
    if (type === 'qemu' && name.toLowerCase() === 'pending') {
      throw new InvalidArgumentError('config', `snapshot name '${name}' is reserved ([PENDING] is the pending section)`);
    }
    out += `\n[${name}]\n` + writeSection(section, 'snapshot', type);
  }
  if (noFinalNewline.has(config) && out.endsWith('\n')) out = out.slice(0, -1);
  const tooLarge = fileSizeProblem(out);
  if (tooLarge) throw new InvalidArgumentError('config', `cannot write the config: ${tooLarge}`);
  return out;
}

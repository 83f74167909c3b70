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
import type { GuestType } from '../contracts/hypervisor.js';
import { InvalidArgumentError, InvalidConfigError, ParseError } from '../errors.js';
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
   * removed). `undefined` when the section has none. As long as it is not changed, the `#`
   * lines are written back exactly as they were read.
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
export interface GuestConfig<T extends GuestType = GuestType> extends GuestConfigSection {
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
export interface ParseGuestConfigOptions<T extends GuestType = GuestType> {
  /** The guest type: `qemu` (qemu-server) or `lxc` (pve-container). */
  readonly type: T;
  /** The file name or other origin, named in parse errors. Default: `<type> config`. */
  readonly source?: string;
}

/** Key lines as qemu-server accepts them. */
const QEMU_KEY_LINE = /^([a-z][a-z_-]*\d*):\s*(.+?)\s*$/;
/** Key lines as pve-container accepts them (no `-` in keys). */
const LXC_KEY_LINE = /^([a-z][a-z_]*\d*):\s*(.+?)\s*$/;
/** Raw LXC keys passed through to LXC; `key = value` is accepted on input too. */
const LXC_RAW_LINE = /^(lxc\.[a-z0-9_.-]+)(?::|\s*=)\s*(.*?)\s*$/;
const LXC_RAW_KEY = /^lxc\.[a-z0-9_.-]+$/;
/** Snapshot names (Proxmox's `pve-configid`, as matched in section headers). */
const SNAPSHOT_NAME = /^[a-z][a-z0-9_-]+$/i;
const SPECIAL_NAME = /^[a-z][a-z0-9_-]*$/i;

/** `#` lines as read, kept while the description they decode to is unchanged. */
const rawDescriptions = new WeakMap<GuestConfigSection, { readonly lines: readonly string[]; readonly description: string }>();

type SectionKind = 'main' | 'pending' | 'special' | 'snapshot';

/**
 * Parses the text of a guest config file.
 *
 * @returns The sections with their entries in file order. Every `#` line of a section adds a
 *   line to its description (Proxmox writes them first); blank lines are ignored.
 * @throws ParseError (`line` is 1-based) for a line that is neither a comment, a `key: value`
 *   line nor a section header, an unknown or repeated section, a repeated key (except `lxc.*`),
 *   or `delete:` outside the pending section.
 * @throws InvalidArgumentError when `options.type` is not `qemu` or `lxc`.
 */
export function parseGuestConfig<T extends GuestType>(text: string, options: ParseGuestConfigOptions<T>): GuestConfig<T> {
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

  const finishSection = (): void => {
    if (descText !== undefined) {
      const description = descText.replace(/\s+$/, '');
      current.description = description;
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

  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNo = index + 1;
    const fail = (message: string): never => {
      throw new ParseError(source, message, lineNo);
    };
    if (/^\s*$/.test(line)) continue;

    let match: RegExpExecArray | null;
    if (line.startsWith('[')) {
      if ((type === 'qemu' && /^\[PENDING\]\s*$/i.test(line)) || (type === 'lxc' && /^\[pve:pending\]\s*$/i.test(line))) {
        if (config.pending) fail('duplicate pending section');
        const pending: GuestConfigSection = { entries: [] };
        config.pending = pending;
        openSection(pending, 'pending');
      } else if (type === 'qemu' && (match = /^\[special:([^\]]*)\]\s*$/i.exec(line))) {
        const name = match[1]!;
        if (!SPECIAL_NAME.test(name)) fail(`invalid special section name '${name}'`);
        if (config.special.has(name)) fail(`duplicate special section '${name}'`);
        const section: GuestConfigSection = { entries: [] };
        config.special.set(name, section);
        openSection(section, 'special');
      } else if ((match = /^\[([a-z][a-z0-9_-]+)\]\s*$/i.exec(line))) {
        const name = match[1]!;
        if (config.snapshots.has(name)) fail(`duplicate snapshot section '${name}'`);
        const section: GuestConfigSection = { entries: [] };
        config.snapshots.set(name, section);
        openSection(section, 'snapshot');
      } else if ((match = /^\[([^\]]*)\]\s*$/.exec(line))) {
        fail(`unknown section '[${match[1]}]'`);
      } else {
        fail(`unable to parse config line '${line}'`);
      }
      continue;
    }

    if (line.startsWith('#')) {
      const payload = line.slice(1);
      descLines.push(payload);
      descText = (descText ?? '') + decodeProxmoxText(payload) + '\n';
      continue;
    }
    if ((match = /^description:\s*(.*\S)\s*$/.exec(line))) {
      // Old configs stored the description as a key; Proxmox appends it as it is.
      descText = (descText ?? '') + decodeProxmoxText(match[1]!);
      descExact = false;
      continue;
    }
    if (type === 'lxc' && (match = LXC_RAW_LINE.exec(line))) {
      current.entries.push({ key: match[1]!, value: match[2]! });
      continue;
    }
    if ((match = /^delete:\s*(.*\S)\s*$/.exec(line))) {
      if (kind !== 'pending') fail(`'delete' is only allowed in the pending section`);
      if (keys.has('delete')) fail(`duplicate key 'delete'`);
      keys.add('delete');
      current.entries.push({ key: 'delete', value: match[1]! });
      continue;
    }
    match = (type === 'qemu' ? QEMU_KEY_LINE : LXC_KEY_LINE).exec(line);
    if (!match) fail(`unable to parse config line '${line}'`);
    const key = match![1]!;
    if (keys.has(key)) fail(`duplicate key '${key}'`);
    keys.add(key);
    current.entries.push({ key, value: match![2]! });
  }
  finishSection();
  return config;
}

/** Splits a description into lines as Perl's `split(/\n/, ...)` does (trailing empty lines dropped). */
function descriptionLines(description: string): string[] {
  const lines = description.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function writeSection(section: GuestConfigSection, kind: SectionKind, type: GuestType): string {
  let out = '';
  const { description } = section;
  const raw = rawDescriptions.get(section);
  if (description !== undefined) {
    if (typeof description !== 'string') {
      throw new InvalidConfigError('description', description, 'description must be a string');
    }
    if (raw && raw.description === description) {
      for (const line of raw.lines) out += `#${line}\n`;
    } else if (description !== '') {
      for (const line of descriptionLines(description)) out += `#${encodeProxmoxText(line)}\n`;
    } else if (kind === 'pending' && type === 'qemu') {
      // qemu-server marks "description set to empty" in [PENDING] with a lone '#'.
      out += '#\n';
    }
  }

  const keyLine = type === 'qemu' ? QEMU_KEY_LINE : LXC_KEY_LINE;
  const seen = new Set<string>();
  for (const entry of section.entries) {
    const { key, value } = entry ?? ({} as ConfigEntry);
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new InvalidConfigError(String(key), value, `config entry '${String(key)}' must have a string key and value`);
    }
    const isRaw = type === 'lxc' && LXC_RAW_KEY.test(key);
    if (!isRaw) {
      if (key === 'description') {
        throw new InvalidConfigError(key, value, `'description' is not an entry: set the section's description instead`);
      }
      if (!keyLine.test(`${key}: x`) || /\s/.test(key)) {
        throw new InvalidConfigError(key, value, `'${key}' is not a valid ${type} config key`);
      }
      if (key === 'delete' && kind !== 'pending') {
        throw new InvalidConfigError(key, value, `'delete' is only allowed in the pending section`);
      }
      if (seen.has(key)) throw new InvalidConfigError(key, value, `duplicate config key '${key}'`);
      seen.add(key);
      if (value === '') throw new InvalidConfigError(key, value, `config key '${key}' has an empty value`);
    }
    if (/[\n\r]/.test(value)) throw new InvalidConfigError(key, value, `value of '${key}' contains a line feed`);
    if (value !== value.trim()) {
      throw new InvalidConfigError(key, value, `value of '${key}' has leading or trailing white space, which would be lost`);
    }
    out += `${key}: ${value}\n`;
  }
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
 * @throws InvalidConfigError naming the key for an entry that could not be read back the same:
 *   an invalid key, an empty value (except `lxc.*`), a line feed or surrounding white space in
 *   a value, a repeated key, `description` as an entry, `delete` outside the pending section.
 * @throws InvalidArgumentError for an invalid snapshot or special section name, a VM snapshot
 *   named `pending`, or special sections in a container config.
 */
export function serializeGuestConfig(config: GuestConfig): string {
  const type = config?.type;
  if (type !== 'qemu' && type !== 'lxc') {
    throw new InvalidArgumentError('config', `config.type must be 'qemu' or 'lxc', got '${String(type)}'`);
  }
  let out = writeSection(config, 'main', type);
  if (config.pending && !isEmptySection(config.pending)) {
    out += type === 'qemu' ? '\n[PENDING]\n' : '\n[pve:pending]\n';
    out += writeSection(config.pending, 'pending', type);
  }
  if (config.special.size > 0 && type !== 'qemu') {
    throw new InvalidArgumentError('config', 'container configs have no special sections');
  }
  for (const [name, section] of config.special) {
    if (!SPECIAL_NAME.test(name)) throw new InvalidArgumentError('config', `invalid special section name '${name}'`);
    out += `\n[special:${name}]\n` + writeSection(section, 'special', type);
  }
  for (const [name, section] of config.snapshots) {
    if (!SNAPSHOT_NAME.test(name)) {
      throw new InvalidArgumentError('config', `invalid snapshot name '${name}': a letter, then letters, digits, '_' or '-' (at least 2 characters)`);
    }
    if (type === 'qemu' && name.toLowerCase() === 'pending') {
      throw new InvalidArgumentError('config', `snapshot name '${name}' is reserved ([PENDING] is the pending section)`);
    }
    out += `\n[${name}]\n` + writeSection(section, 'snapshot', type);
  }
  return out;
}

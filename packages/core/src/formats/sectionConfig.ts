/**
 * Proxmox VE "section config" files, such as `storage.cfg`:
 *
 * ```text
 * dir: local
 * \tpath /var/lib/vz
 * \tcontent iso,vztmpl,backup
 *
 * rbd: ceph-vm
 * \tdisable
 * \tmonhost 10.0.0.1 10.0.0.2
 * \tpool vm
 *
 * ```
 *
 * Each section is a `type: id` header followed by indented `key value` lines (a key alone is
 * a flag, such as `disable`), and ends at an empty line. This follows pve-common's
 * `PVE::SectionConfig::parse_config` / `write_config` without any plugin schema: values are
 * kept as strings, keys and order as written. Checking options against a storage type's schema
 * is for the storage layer.
 *
 * {@link readSectionConfig} reads every section it can and returns the others apart, as
 * Proxmox skips a bad section; {@link parseSectionConfig} refuses a file with any.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, InvalidConfigError, ParseError } from '../errors.js';
import { CONFIG_LIMITS, excerpt, fileSizeProblem, forbiddenCharProblem, isBlank, splitConfigLines, trimBlanks } from './configText.js';
import { defineOwn } from './defineOwn.js';

/**
 * One section. `options` holds the values by key in file order; a flag written without a
 * value (`disable`) has the value `''`.
 */
export interface ConfigSection {
  type: string;
  id: string;
  options: Record<string, string>;
}

/**
 * A part of a section config file that could not be read: a section with a bad header,
 * option or value, a repeated section, or option lines outside any section. Its lines are
 * kept as read (`text`, without the empty line that ends it) so that writing the file again
 * keeps them (see {@link serializeSectionConfig}).
 */
export interface InvalidSection {
  /** 1-based line of what is wrong in it. */
  readonly line: number;
  /** Type and id from the header, when it could be read. */
  readonly type?: string;
  readonly id?: string;
  /** The section's lines as read, joined with `\n`. */
  readonly text: string;
  /** What is wrong, naming the file and line. */
  readonly error: ParseError;
}

/** An {@link InvalidSection} whose error is made when first asked for (a file may have many). */
class InvalidPart implements InvalidSection {
  #error?: ParseError;

  constructor(
    readonly line: number,
    readonly type: string | undefined,
    readonly id: string | undefined,
    readonly text: string,
    private readonly source: string,
    private readonly message: string,
  ) {}

  get error(): ParseError {
    this.#error ??= new ParseError(this.source, this.message, this.line);
    return this.#error;
  }
}

/** Where a readable section is in the file: 1-based lines of its header and of each option, and its lines as read. */
export interface SectionPosition {
  readonly line: number;
  readonly options: Readonly<Record<string, number>>;
  /** The section's lines as read (comments included), joined with `\n`, without the empty line that ends it. */
  readonly text: string;
}

/** What {@link readSectionConfig} found: the readable sections and the parts that are not. */
export interface SectionConfigContent {
  readonly sections: ConfigSection[];
  readonly invalid: InvalidSection[];
  /** The lines of each of `sections` (for errors found later, by a schema, that name the line). */
  readonly positions: ReadonlyMap<ConfigSection, SectionPosition>;
}

/** Options of {@link parseSectionConfig} and {@link readSectionConfig}. */
export interface ParseSectionConfigOptions {
  /** File name or other origin named in errors. Default `section config`. */
  readonly source?: string;
  /**
   * Option keys that may be given more than once in a section (Proxmox's array properties,
   * such as `dhcp-range` in `sdn/subnets.cfg`, written as one line per item). Their values are
   * kept in file order joined with `\n` (a character no value may hold); the key's position
   * is that of its first line. Default: none (a repeated key is an error).
   */
  readonly repeatableKeys?: readonly string[];
}

/** Section types: a letter, then letters, digits, `_` or `-`. */
const TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** Section ids: printable ASCII without space (storage ids, zone ids, `vm:100`...). */
const ID_PATTERN = /^[!-~]+$/;
/** Option keys: schema property names such as `path`, `prune-backups`, `is_mountpoint`. */
const OPTION_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/;


function isBlankLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isBlank(line.charCodeAt(i))) return false;
  return true;
}

function isComment(line: string): boolean {
  let i = 0;
  while (isBlank(line.charCodeAt(i))) i++;
  return line.charCodeAt(i) === 0x23;
}

/** Why `type` cannot be a section type, or `undefined`. */
function typeProblem(type: string): string | undefined {
  if (type.length > CONFIG_LIMITS.keyLength) return `section type is longer than ${CONFIG_LIMITS.keyLength} characters`;
  return TYPE_PATTERN.test(type) ? undefined : `invalid section type '${excerpt(type)}'`;
}

/** Why `id` cannot be a section id, or `undefined`. */
function idProblem(id: string): string | undefined {
  if (id.length > CONFIG_LIMITS.keyLength) return `section id is longer than ${CONFIG_LIMITS.keyLength} characters`;
  return ID_PATTERN.test(id) ? undefined : `invalid section id '${excerpt(id)}' (printable ASCII without spaces)`;
}

/** Why `key` cannot be an option key, or `undefined`. */
function keyProblem(key: string): string | undefined {
  if (key.length > CONFIG_LIMITS.keyLength) return `option key is longer than ${CONFIG_LIMITS.keyLength} characters`;
  return OPTION_KEY_PATTERN.test(key) ? undefined : `invalid option key '${excerpt(key)}'`;
}

/** Why `value` cannot be the value of option `key`, or `undefined`. */
function valueProblem(key: string, value: string): string | undefined {
  if (value.length > CONFIG_LIMITS.valueLength) return `value of '${key}' is longer than ${CONFIG_LIMITS.valueLength} characters`;
  const problem = forbiddenCharProblem(value);
  return problem && `value of '${key}' ${problem}`;
}

/**
 * Splits a header line `type: id` as Proxmox's `^(\S+):\s*(\S+)\s*$` does (the type ends at
 * the last `:` of the first word when no blank follows it), without a backtracking pattern.
 */
function splitHeader(line: string): { type: string; id: string } | undefined {
  let end = line.length;
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
  let space = 0;
  while (space < end && !isBlank(line.charCodeAt(space))) space++;
  if (space < end) {
    let idStart = space;
    while (isBlank(line.charCodeAt(idStart))) idStart++;
    const id = line.slice(idStart, end);
    for (let i = 0; i < id.length; i++) if (isBlank(id.charCodeAt(i))) return undefined;
    if (line.charCodeAt(space - 1) !== 0x3a || space < 2) return undefined;
    return { type: line.slice(0, space - 1), id };
  }
  const colon = line.lastIndexOf(':', end - 2);
  if (colon < 1) return undefined;
  return { type: line.slice(0, colon), id: line.slice(colon + 1, end) };
}

/** An option line: leading blanks, the key, then blanks and the value (`''` for a flag). */
function splitOption(line: string): { key: string; value: string } {
  let i = 0;
  while (isBlank(line.charCodeAt(i))) i++;
  let k = i;
  while (k < line.length && !isBlank(line.charCodeAt(k))) k++;
  return { key: line.slice(i, k), value: trimBlanks(line.slice(k)) };
}

/**
 * Reads a section config file the way Proxmox's `PVE::SectionConfig::parse_config` does: a
 * section that cannot be read is skipped (Proxmox warns and skips it) and the others are
 * kept. Unlike Proxmox, nothing is dropped silently: every skipped part is returned in
 * `invalid` with its error and its lines, and {@link serializeSectionConfig} writes those
 * lines back.
 *
 * Like Proxmox: lines whose first non-blank character is `#` are comments (not kept in
 * readable sections), an empty line ends a section, lines of only blanks are ignored, a
 * header is `type: id`, an option is an indented `key value` or `key` (a flag). Also: a
 * header directly after an option line (no empty line in between) starts a new section; a
 * trailing `\r` is dropped from every line. Checked: type, id and option key (see
 * {@link serializeSectionConfig}), values without characters a config may not hold (see
 * `findForbiddenChar`), no option or section id given twice (the later section is the
 * invalid one), and {@link CONFIG_LIMITS}. Linear in the size of the text.
 *
 * @throws ParseError only when the text is not a string or is larger than
 *   {@link CONFIG_LIMITS}`.fileBytes`.
 */
export function readSectionConfig(text: string, options: ParseSectionConfigOptions = {}): SectionConfigContent {
  const source = options.source ?? 'section config';
  if (typeof text !== 'string') throw new ParseError(source, 'config text is not a string');
  const repeatable = new Set(options.repeatableKeys ?? []);
  const sections: ConfigSection[] = [];
  const invalid: InvalidSection[] = [];
  const positions = new Map<ConfigSection, SectionPosition>();
  const ids = new Set<string>();
  // `error` holds the message and line of what is wrong; the ParseError is made on demand.
  let chunk:
    | { line: number; lines: string[]; section?: ConfigSection; optionLines?: Record<string, number>; type?: string; id?: string; error?: { line: number; message: string } }
    | undefined;

  const flush = (): void => {
    if (!chunk) return;
    if (chunk.error) {
      // The part starts at its first line; the error names the line that is wrong.
      const part = new InvalidPart(chunk.error.line, chunk.type, chunk.id, chunk.lines.join('\n'), source, chunk.error.message);
      invalid.push(part);
    } else {
      sections.push(chunk.section!);
      positions.set(chunk.section!, { line: chunk.line, options: chunk.optionLines!, text: chunk.lines.join('\n') });
    }
    chunk = undefined;
  };

  const lines = splitConfigLines(text, source);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNo = index + 1;
    const error = (message: string) => ({ line: lineNo, message });
    if (line === '') {
      flush();
      continue;
    }
    if (line.length <= CONFIG_LIMITS.lineLength && (isComment(line) || isBlankLine(line))) {
      chunk?.lines.push(line);
      continue;
    }
    if (isBlank(line.charCodeAt(0))) {
      if (!chunk) chunk = { line: lineNo, lines: [], error: error(`expected a section header 'type: id', got the option line '${excerpt(line)}'`) };
      chunk.lines.push(line);
      if (chunk.error) continue;
      const where = `section '${chunk.id}'`;
      if (line.length > CONFIG_LIMITS.lineLength) {
        chunk.error = error(`${where}: line is longer than ${CONFIG_LIMITS.lineLength} characters`);
        continue;
      }
      const { key, value } = splitOption(line);
      const problem = keyProblem(key) ?? valueProblem(key, value);
      if (problem) chunk.error = error(`${where}: ${problem}`);
      else if (Object.hasOwn(chunk.section!.options, key) && repeatable.has(key)) chunk.section!.options[key] += `\n${value}`;
      else if (Object.hasOwn(chunk.section!.options, key)) chunk.error = error(`${where}: duplicate option '${key}'`);
      else {
        defineOwn(chunk.section!.options, key, value);
        defineOwn(chunk.optionLines!, key, lineNo);
      }
      continue;
    }
    const previous = chunk?.id;
    flush();
    chunk = { line: lineNo, lines: [line] };
    const header = line.length > CONFIG_LIMITS.lineLength ? undefined : splitHeader(line);
    if (!header) {
      chunk.error = error(
        previous === undefined
          ? `expected a section header 'type: id', got '${excerpt(line)}'`
          : `section '${previous}': cannot parse option line '${excerpt(line)}' (options are indented)`,
      );
      continue;
    }
    const { type, id } = header;
    chunk.type = type;
    chunk.id = id;
    const problem = typeProblem(type) ?? idProblem(id);
    if (problem) chunk.error = error(problem);
    else if (ids.has(id)) chunk.error = error(`duplicate section '${id}'`);
    else {
      chunk.section = { type, id, options: {} };
      chunk.optionLines = {};
    }
    if (id !== '' && !problem) ids.add(id);
  }
  flush();
  return { sections, invalid, positions };
}

/**
 * Parses a section config file, refusing anything {@link readSectionConfig} would skip.
 *
 * @returns The sections in file order.
 * @throws ParseError (1-based `line`) for the first part that cannot be read: a line that is
 *   neither a header, an option of a section nor a comment, an invalid type, id or option
 *   key, a value with a character no config may hold, a repeated section id or option, or
 *   text past {@link CONFIG_LIMITS}.
 */
export function parseSectionConfig(text: string, options: ParseSectionConfigOptions = {}): ConfigSection[] {
  const { sections, invalid } = readSectionConfig(text, options);
  if (invalid.length > 0) throw invalid[0]!.error;
  return sections;
}

/** Options of {@link serializeSectionConfig}. */
export interface SerializeSectionConfigOptions {
  /**
   * Unreadable parts to keep (from {@link readSectionConfig}): written after the sections, as
   * they were read, each followed by an empty line, so they read back as the same parts.
   */
  readonly invalid?: readonly InvalidSection[];
  /**
   * Option keys whose value holds several items joined with `\n` (see
   * {@link ParseSectionConfigOptions.repeatableKeys}): written as one `\tkey item` line per item.
   */
  readonly repeatableKeys?: readonly string[];
}

/**
 * Writes sections as Proxmox does: `type: id`, then one `\tkey value` line per option (`\tkey`
 * for a flag, value `''`), then an empty line, for every section. Options keep their order.
 * The output of a file parsed by {@link parseSectionConfig} is that file byte for byte when it
 * is in the shape Proxmox writes (tab indentation, one empty line after each section, no comments).
 *
 * A type is a letter then letters, digits, `_` or `-`; an id is printable ASCII without
 * spaces; an option key is a letter then letters, digits, `_`, `.` or `-`; each at most
 * {@link CONFIG_LIMITS}`.keyLength` characters.
 *
 * @throws InvalidConfigError naming the option (or `type` / `id`) for anything that would not
 *   read back the same: an invalid type, id or key, a value that is not a string, has
 *   surrounding blanks, a character no config may hold (see `findForbiddenChar`) or is longer
 *   than {@link CONFIG_LIMITS}`.valueLength`, a repeated id.
 * @throws InvalidArgumentError when the file would be larger than {@link CONFIG_LIMITS}`.fileBytes`.
 */
export function serializeSectionConfig(sections: readonly ConfigSection[], options: SerializeSectionConfigOptions = {}): string {
  let out = '';
  const ids = new Set<string>();
  const repeatable = new Set(options.repeatableKeys ?? []);
  for (const section of sections) {
    const { type, id } = section;
    const badType = typeof type === 'string' ? typeProblem(type) : `invalid section type '${String(type)}'`;
    if (badType) throw new InvalidConfigError('type', type, badType);
    const badId = typeof id === 'string' ? idProblem(id) : `invalid section id '${String(id)}'`;
    if (badId) throw new InvalidConfigError('id', id, badId);
    if (ids.has(id)) throw new InvalidConfigError('id', id, `duplicate section '${id}'`);
    ids.add(id);
    out += `${type}: ${id}\n`;
    for (const [key, value] of Object.entries(section.options)) {
      const badKey = keyProblem(key);
      if (badKey) throw new InvalidConfigError(key, value, `section '${id}': ${badKey}`);
      if (typeof value !== 'string') {
        throw new InvalidConfigError(key, value, `section '${id}': value of '${key}' must be a string, got ${typeof value}`);
      }
      for (const item of repeatable.has(key) ? value.split('\n') : [value]) {
        const badValue = valueProblem(key, item);
        if (badValue) throw new InvalidConfigError(key, value, `section '${id}': ${badValue}`);
        if (trimBlanks(item) !== item) {
          throw new InvalidConfigError(key, value, `section '${id}': value of '${key}' has leading or trailing blanks, which would be lost`);
        }
        out += item === '' ? `\t${key}\n` : `\t${key} ${item}\n`;
      }
    }
    out += '\n';
  }
  for (const part of options.invalid ?? []) out += `${part.text}\n\n`;
  const tooLarge = fileSizeProblem(out);
  if (tooLarge) throw new InvalidArgumentError('sections', `cannot write the section config: ${tooLarge}`);
  return out;
}

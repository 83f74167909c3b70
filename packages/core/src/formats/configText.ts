/**
 * What the line-oriented Proxmox files (guest `.conf`, `storage.cfg`) may hold, shared by
 * their readers and writers so that both accept exactly the same text:
 *
 * - size limits ({@link CONFIG_LIMITS}), so every parse is bounded;
 * - characters no config value may hold ({@link findForbiddenChar}): control characters (C0
 *   except tab, DEL, C1), U+2028/U+2029 (line terminators to JavaScript, whose `.` and line
 *   splitting disagree with `\n`-only Proxmox files) and unpaired surrogates (they have no
 *   UTF-8 form, so they would not read back the same);
 * - the blanks that separate and surround values: space and tab only, as Perl's `\s` in
 *   Proxmox's byte-oriented parsers (so U+00A0 and friends are value characters).
 *
 * @packageDocumentation
 */
import { ParseError } from '../errors.js';

/**
 * Size limits of config text, in characters (UTF-16 code units) unless noted.
 *
 * - `fileBytes`: 1 MiB, the largest file Proxmox's cluster file system holds
 *   (pmxcfs `MEMDB_MAX_FILE_SIZE`), in UTF-8 bytes.
 * - `lineLength`: 128 KiB, room for the longest value plus its key, and for a description
 *   line of 8192 characters (Proxmox's `description` limit) after percent-escaping.
 * - `valueLength`: 64 KiB per value. Proxmox sets no limit on keys such as `args`; this one is
 *   far above any real value (the longest are SSH keys and raw `lxc.*` lines of a few KiB) and
 *   below Linux's 128 KiB limit of one command-line argument (`MAX_ARG_STRLEN`).
 * - `keyLength`: 128 per key, section type, section id or section name.
 */
export const CONFIG_LIMITS = Object.freeze({
  fileBytes: 1024 * 1024,
  lineLength: 128 * 1024,
  valueLength: 64 * 1024,
  keyLength: 128,
});

/** Options of {@link findForbiddenChar}. */
export interface ForbiddenCharOptions {
  /** Allow `\n` (descriptions, which are written as one `#` line per line). Default false. */
  readonly newline?: boolean;
  /** Allow tab. Default true. */
  readonly tab?: boolean;
}

function isForbiddenCode(code: number, options: ForbiddenCharOptions): boolean {
  if (code < 0x20) return !((code === 0x09 && options.tab !== false) || (code === 0x0a && options.newline === true));
  return (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

/**
 * The index of the first character of `text` that no config value may hold (see the module
 * description), or -1 when there is none. Linear in the length of `text`.
 */
export function findForbiddenChar(text: string, options: ForbiddenCharOptions = {}): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (isForbiddenCode(code, options)) return i;
  }
  return -1;
}

/** Names the character at `index` for an error message: `U+2028 (line separator) at position 4`. */
export function describeCharAt(text: string, index: number): string {
  const code = text.charCodeAt(index);
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const names: Record<number, string> = { 0: 'NUL', 0x09: 'tab', 0x0a: 'line feed', 0x0d: 'carriage return', 0x2028: 'line separator', 0x2029: 'paragraph separator' };
  const name = names[code] ?? (code >= 0xd800 && code <= 0xdfff ? 'unpaired surrogate' : 'control character');
  return `${hex} (${name}) at position ${index + 1}`;
}

/**
 * Why `text` cannot be a config value: `contains U+2028 (line separator) at position 4`, or
 * `undefined` when it has no forbidden character.
 */
export function forbiddenCharProblem(text: string, options: ForbiddenCharOptions = {}): string | undefined {
  const at = findForbiddenChar(text, options);
  return at < 0 ? undefined : `contains ${describeCharAt(text, at)}`;
}

/**
 * A piece of config text for an error message: at most 120 characters, with control
 * characters and U+2028/U+2029 escaped as in JSON.
 */
export function excerpt(text: string): string {
  const cut = text.length > 120 ? `${text.slice(0, 100)}…(${text.length} characters)` : text;
  return JSON.stringify(cut)
    .slice(1, -1)
    .replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** True for the blanks of config lines: space and tab. */
export function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** `text` without leading and trailing blanks (space, tab). */
export function trimBlanks(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlank(text.charCodeAt(start))) start++;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/**
 * Splits config text into lines as Proxmox does (on `\n`), dropping the `\r`s at the end of
 * each line so that files with CRLF line ends read like the others (all of them, so that the
 * lines returned split to themselves again).
 *
 * @throws ParseError (`source`) when the text is larger than {@link CONFIG_LIMITS}`.fileBytes`.
 */
export function splitConfigLines(text: string, source: string): string[] {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: small texts need no counting.
  if (text.length * 3 > CONFIG_LIMITS.fileBytes && Buffer.byteLength(text, 'utf8') > CONFIG_LIMITS.fileBytes) {
    throw new ParseError(source, `file is larger than ${CONFIG_LIMITS.fileBytes} bytes`);
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    let end = line.length;
    while (end > 0 && line.charCodeAt(end - 1) === 0x0d) end--;
    if (end < line.length) lines[i] = line.slice(0, end);
  }
  return lines;
}

/**
 * Checks that written config text fits {@link CONFIG_LIMITS}`.fileBytes`.
 *
 * @returns Why it does not, or `undefined`.
 */
export function fileSizeProblem(text: string): string | undefined {
  if (text.length * 3 <= CONFIG_LIMITS.fileBytes) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > CONFIG_LIMITS.fileBytes ? `the file would be ${bytes} bytes, more than the ${CONFIG_LIMITS.fileBytes} a config file may have` : undefined;
}

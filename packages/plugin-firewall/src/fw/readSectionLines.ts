/**
 * Reading the non-rule lines of a firewall file as pve-firewall's `generic_fw_config_parser`
 * reads them: section headers, ipset entries and aliases. Scans by index; no regular
 * expression can backtrack.
 *
 * @packageDocumentation
 */
import type { FwSectionType } from './fwDocument.js';
import type { FwLineProblem } from './readRuleLine.js';
import { isSpace, skipSpace, splitComment, tokenEnd, trimWith } from './fwText.js';
import { FW_MAX_GROUP_NAME, FW_MAX_IPSET_NAME, isFwName, parseIpOrCidr } from './fwValues.js';

/** A section header as read. */
export interface FwHeader {
  readonly type: FwSectionType;
  readonly name?: string;
  readonly comment?: string;
}

const PLAIN: ReadonlyArray<readonly [string, FwSectionType]> = [
  ['[options]', 'options'],
  ['[aliases]', 'aliases'],
  ['[rules]', 'rules'],
];

/** `[group NAME] # comment` / `[ipset NAME] # comment` (keyword in any case), or undefined. */
function readNamedHeader(line: string, keyword: 'group' | 'ipset'): FwHeader | FwLineProblem | undefined {
  if (line.slice(0, keyword.length + 1).toLowerCase() !== `[${keyword}`) return undefined;
  const start = skipSpace(line, keyword.length + 1);
  if (start === keyword.length + 1) return undefined;
  const end = tokenEnd(line, start);
  // The name runs up to a `]` followed by nothing, whitespace or `#`: the longest such name.
  let close = -1;
  for (let i = end - 1; i > start; i--) {
    if (line[i] !== ']') continue;
    const after = i + 1 === end ? skipSpace(line, end) : i + 1;
    if (after === line.length || line[after] === '#') {
      close = i;
      break;
    }
  }
  if (close < 0) return undefined;
  const name = line.slice(start, close);
  const afterClose = skipSpace(line, close + 1);
  const comment = afterClose < line.length ? trimWith(line.slice(afterClose + 1), isSpace) : undefined;
  const max = keyword === 'group' ? FW_MAX_GROUP_NAME : FW_MAX_IPSET_NAME;
  const what = keyword === 'group' ? 'security group' : 'ipset';
  if (name.length > max) return { kind: 'section', problem: `${what} name '${name}' is too long (at most ${max} characters)` };
  if (!isFwName(name)) return { kind: 'section', problem: `invalid ${what} name '${name}' (a letter, then letters, digits, '-' or '_')` };
  return { type: keyword, name, ...(comment !== undefined ? { comment } : {}) };
}

/**
 * Reads a section header (trimmed line): `[OPTIONS]`, `[RULES]`, `[ALIASES]` (any case),
 * `[IPSET name]` and `[group name]` with an optional `# comment`. Undefined when the line is
 * no header; a problem for a header with a bad name.
 */
export function readSectionHeader(line: string): FwHeader | FwLineProblem | undefined {
  if (!line.startsWith('[')) return undefined;
  const lower = line.toLowerCase();
  for (const [text, type] of PLAIN) if (lower === text) return { type };
  return readNamedHeader(line, 'group') ?? readNamedHeader(line, 'ipset');
}

/** An ipset entry as read. */
export interface FwIpsetEntry {
  readonly nomatch: boolean;
  readonly cidr: string;
  readonly comment?: string;
}

/**
 * Reads an ipset entry (trimmed line): `[!] address-or-cidr-or-alias [# comment]`. An alias
 * may carry a `dc/` or `guest/` scope; a zero prefix length is refused. Alias names are not
 * looked up here.
 */
export function readIpsetEntry(line: string): FwIpsetEntry | FwLineProblem {
  const { body, comment } = splitComment(line);
  const nomatch = body.startsWith('!');
  const start = skipSpace(body, nomatch ? 1 : 0);
  const end = tokenEnd(body, start);
  if (end === start || skipSpace(body, end) !== body.length) return { kind: 'entry', problem: `'${line}' is not an ipset entry ([!]address, CIDR or alias [# comment])` };
  const cidr = body.slice(start, end);
  const slash = cidr.indexOf('/');
  const scope = slash > 0 ? cidr.slice(0, slash) : '';
  const aliasName = scope === 'dc' || scope === 'guest' ? cidr.slice(slash + 1) : cidr;
  if (!isFwName(aliasName)) {
    const v = parseIpOrCidr(cidr);
    if (typeof v === 'string') return { kind: 'address', problem: v };
    if (slash >= 0 && /^0+$/.test(cidr.slice(slash + 1))) return { kind: 'address', problem: `a zero prefix length is not allowed in ipset entries ('${cidr}')` };
  }
  return { nomatch, cidr, ...(comment !== undefined ? { comment } : {}) };
}

/** An alias as read. */
export interface FwAlias {
  readonly name: string;
  readonly cidr: string;
  readonly comment?: string;
}

/** Reads an alias line (trimmed): `name address-or-cidr [# comment]`, name and value separated by one whitespace character. */
export function readAliasLine(line: string): FwAlias | FwLineProblem {
  const split = splitComment(line);
  const comment = split.comment;
  const body = trimWith(split.body, isSpace);
  const nameEnd = tokenEnd(body, 0);
  const valueEnd = tokenEnd(body, nameEnd + 1);
  if (nameEnd === 0 || nameEnd === body.length || valueEnd === nameEnd + 1 || valueEnd !== body.length) {
    return { kind: 'entry', problem: `'${line}' is not an alias (name address-or-CIDR [# comment])` };
  }
  const name = body.slice(0, nameEnd);
  const cidr = body.slice(nameEnd + 1);
  if (!isFwName(name) || name.length > 64) return { kind: 'entry', problem: `invalid alias name '${name}'` };
  const v = parseIpOrCidr(cidr);
  if (typeof v === 'string') return { kind: 'address', problem: v };
  return { name, cidr, ...(comment !== undefined ? { comment } : {}) };
}

/**
 * The writer of Proxmox's firewall files: an {@link FwDocument} back to text.
 *
 * @packageDocumentation
 */
import type { FwDocument, FwLine, FwRule, FwSection } from './fwDocument.js';
import { FW_SECTIONS_BY_KIND, fwKindName } from './fwDocument.js';
import { FwParseError } from './FwParseError.js';
import { readOptionLine } from './fwOptions.js';
import { isHSpace, isSpace, trimWith } from './fwText.js';
import { parseFwFile, ruleEnvOf } from './parseFwFile.js';
import { readRuleLine } from './readRuleLine.js';
import { readAliasLine, readIpsetEntry, readSectionHeader } from './readSectionLines.js';

/** Options of {@link writeFwFile}. */
export interface WriteFwFileOptions {
  /** The file's name, for error messages. Default `<kind>.fw`. */
  readonly fileName?: string;
}

const RULE_KEYS = ['enabled', 'type', 'action', 'macro', 'iface', 'source', 'dest', 'proto', 'dport', 'sport', 'icmpType', 'log', 'comment'] as const;

/** True when two rules have the same fields. */
export function sameFwRule(a: FwRule, b: FwRule): boolean {
  return RULE_KEYS.every((k) => a[k] === b[k]);
}

/** A rule in Proxmox's own spelling (as its `format_rules` writes it). */
export function formatFwRule(rule: FwRule): string {
  let out = `${rule.enabled ? '' : '|'}${rule.type.toUpperCase()} ${rule.macro !== undefined ? `${rule.macro}(${rule.action})` : rule.action}`;
  if (rule.iface !== undefined) out += ` -i ${rule.iface}`;
  if (rule.source !== undefined) out += ` -source ${rule.source}`;
  if (rule.dest !== undefined) out += ` -dest ${rule.dest}`;
  if (rule.proto !== undefined) out += ` -p ${rule.proto}`;
  if (rule.dport !== undefined) out += ` -dport ${rule.dport}`;
  if (rule.sport !== undefined) out += ` -sport ${rule.sport}`;
  if (rule.log !== undefined) out += ` -log ${rule.log}`;
  if (rule.icmpType !== undefined) out += ` -icmp-type ${rule.icmpType}`;
  if (rule.comment !== undefined) out += rule.comment === '' ? ' #' : ` # ${rule.comment}`;
  return out;
}

const withComment = (text: string, comment: string | undefined): string => (comment === undefined ? text : comment === '' ? `${text} #` : `${text} # ${comment}`);

function formatHeader(section: FwSection): string {
  switch (section.type) {
    case 'options':
      return '[OPTIONS]';
    case 'rules':
      return '[RULES]';
    case 'aliases':
      return '[ALIASES]';
    case 'ipset':
      return withComment(`[IPSET ${section.name ?? ''}]`, section.comment);
    case 'group':
      return withComment(`[group ${section.name ?? ''}]`, section.comment);
  }
}

const content = (raw: string): string => trimWith(raw, isHSpace);

/**
 * Writes a document: every line that still says what it was read from is written as read
 * (spelling, spacing and comments kept), every other line in Proxmox's own spelling. So
 * `writeFwFile(parseFwFile(bytes))` gives back `bytes`.
 *
 * @throws FwParseError (kind `unwritable`, naming the file and the 1-based line the output
 *   would have) when a line cannot be written so that it reads back the same: a section not
 *   allowed in the file kind, a line outside a section that is not blank or a comment, a line
 *   of the wrong type for its section, a value with whitespace or newlines, a comment with
 *   surrounding whitespace or a newline, a rule, option or entry that does not check (as the
 *   parser checks it), or a file the parser refuses as a whole (a repeated ipset or group
 *   name, a reference the file itself shows undefined).
 */
export function writeFwFile(doc: FwDocument, options: WriteFwFileOptions = {}): string {
  const fileName = options.fileName ?? `${doc.kind}.fw`;
  const out: string[] = [];
  const fail = (message: string): never => {
    throw new FwParseError('unwritable', fileName, message, out.length + 1);
  };
  const checkedText = (text: string): string => {
    if (text.includes('\n') || text.includes('\r') || text.includes('\0')) fail('a line with a newline, carriage return or NUL');
    return text;
  };
  const writeTrivia = (line: FwLine): void => {
    if (line.type !== 'blank' && line.type !== 'comment') return fail(`a ${line.type} line outside any section`);
    const text = checkedText(line.raw);
    const c = content(text);
    if (line.type === 'blank' && trimWith(c, isSpace) !== '') fail(`blank line '${text}' is not blank`);
    if (line.type === 'comment' && !c.startsWith('#')) fail(`comment line '${text}' does not start with '#'`);
    out.push(text);
  };

  for (const t of doc.preamble) writeTrivia(t);
  for (const section of doc.sections) {
    if (!FW_SECTIONS_BY_KIND[doc.kind].includes(section.type)) fail(`section [${section.type.toUpperCase()}] is not allowed in a ${fwKindName(doc.kind)} firewall file`);
    const want = { type: section.type, name: section.name, comment: section.comment };
    const sameHeader = (text: string): boolean => {
      const h = readSectionHeader(content(text));
      return h !== undefined && !('problem' in h) && h.type === want.type && h.name === want.name && h.comment === want.comment;
    };
    const header = section.raw !== undefined && !section.raw.includes('\n') && sameHeader(section.raw) ? section.raw : formatHeader(section);
    if (!sameHeader(header)) fail(`section header '${header}' does not read back as written`);
    out.push(checkedText(header));

    for (const line of section.lines) {
      if (line.type === 'blank' || line.type === 'comment') {
        writeTrivia(line);
        continue;
      }
      let same: (text: string) => boolean;
      let canonical: string;
      switch (line.type) {
        case 'option':
          if (section.type !== 'options') return fail(`an option line in a [${section.type.toUpperCase()}] section`);
          same = (text) => {
            const o = readOptionLine(doc.kind, content(text));
            return !('problem' in o) && o.name === line.name && o.value === line.value;
          };
          canonical = line.value === '' ? `${line.name}:` : `${line.name}: ${line.value}`;
          break;
        case 'rule': {
          if (section.type !== 'rules' && section.type !== 'group') return fail(`a rule line in a [${section.type.toUpperCase()}] section`);
          const env = ruleEnvOf(doc.kind, section.type);
          same = (text) => {
            const r = readRuleLine(content(text), env);
            return !('problem' in r) && sameFwRule(r, line.rule);
          };
          canonical = formatFwRule(line.rule);
          break;
        }
        case 'ipset-entry':
          if (section.type !== 'ipset') return fail(`an ipset entry in a [${section.type.toUpperCase()}] section`);
          same = (text) => {
            const e = readIpsetEntry(content(text));
            return !('problem' in e) && e.nomatch === line.nomatch && e.cidr === line.cidr && e.comment === line.comment;
          };
          canonical = withComment(`${line.nomatch ? '!' : ''}${line.cidr}`, line.comment);
          break;
        case 'alias':
          if (section.type !== 'aliases') return fail(`an alias line in a [${section.type.toUpperCase()}] section`);
          same = (text) => {
            const a = readAliasLine(content(text));
            return !('problem' in a) && a.name === line.name && a.cidr === line.cidr && a.comment === line.comment;
          };
          canonical = withComment(`${line.name} ${line.cidr}`, line.comment);
          break;
      }
      const isLine = (text: string): boolean => !text.includes('\n') && !text.includes('\r') && content(text) !== '' && !content(text).startsWith('#') && !content(text).startsWith('[');
      const text = line.raw !== undefined && isLine(line.raw) && same(line.raw) ? line.raw : canonical;
      if (!isLine(text) || !same(text)) fail(`${line.type} line '${text}' does not read back as written`);
      out.push(text);
    }
  }
  const written = out.join('\n') + (doc.finalNewline && out.length > 0 ? '\n' : '');
  // The whole-file checks (repeated ipset or group names, undefined references) are the parser's.
  try {
    parseFwFile(written, { kind: doc.kind, fileName });
  } catch (err) {
    if (err instanceof FwParseError) throw new FwParseError('unwritable', fileName, `the written file does not read back: ${err.message}`, err.line);
    throw err;
  }
  return written;
}

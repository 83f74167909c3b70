/**
 * The parser of Proxmox's firewall files (`cluster.fw`, `host.fw`, `<vmid>.fw`, SDN `<vnet>.fw`).
 *
 * @packageDocumentation
 */
import type { FwDocument, FwFileKind, FwLine, FwRule, FwSection, FwSectionType, FwTriviaLine } from './fwDocument.js';
import { FW_SECTIONS_BY_KIND, fwKindName } from './fwDocument.js';
import { FwParseError } from './FwParseError.js';
import { readOptionLine } from './fwOptions.js';
import { checkFwReferences, type FwReference } from './fwReferences.js';
import { isHSpace, isSpace, trimWith } from './fwText.js';
import { readRuleLine, type FwLineProblem, type FwRuleEnv } from './readRuleLine.js';
import { readAliasLine, readIpsetEntry, readSectionHeader } from './readSectionLines.js';

/** Longest file the parser reads, in bytes (4 MiB). */
export const FW_MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Longest line the parser reads, in characters (without the newline). */
export const FW_MAX_LINE_CHARS = 8192;

/** Options of {@link parseFwFile}. */
export interface ParseFwFileOptions {
  /** Which file this is: its sections, options and rule types follow from it. */
  readonly kind: FwFileKind;
  /** The file's name or path, for error messages (`/etc/pve/firewall/100.fw`). */
  readonly fileName: string;
  /**
   * The parsed `cluster.fw`, when a guest or host file's references to the cluster's ipsets,
   * aliases and security groups are to be checked. Without it only references that the file
   * itself can resolve are checked (in `cluster.fw`, all of them).
   */
  readonly cluster?: FwDocument;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const isProblem = (v: object): v is FwLineProblem => 'problem' in v;

function decode(input: string | Uint8Array, fileName: string): string {
  if (typeof input === 'string') {
    if (input.length > FW_MAX_FILE_BYTES) throw new FwParseError('limit', fileName, `file is longer than ${FW_MAX_FILE_BYTES} characters`);
    return input;
  }
  if (input.byteLength > FW_MAX_FILE_BYTES) throw new FwParseError('limit', fileName, `file is larger than ${FW_MAX_FILE_BYTES} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    throw new FwParseError('encoding', fileName, 'file is not valid UTF-8');
  }
}

/** The rule environment of a section of a `kind` file. */
export function ruleEnvOf(kind: FwFileKind, section: FwSectionType): FwRuleEnv {
  return section === 'group' ? 'group' : kind;
}

/**
 * Parses a firewall file into an {@link FwDocument} that {@link writeFwFile} writes back to the
 * same bytes. Reads as pve-firewall does (whitespace around lines, `#` comment lines, blank
 * lines, section headers and option names in any case, `-dport` or `--dport`), but refuses
 * what pve-firewall would skip with a warning, so that nothing is lost unseen.
 *
 * Bounded: at most {@link FW_MAX_FILE_BYTES} and {@link FW_MAX_LINE_CHARS} per line, one pass
 * over each line, no backtracking.
 *
 * @param input - The file's bytes (must be UTF-8) or text.
 * @throws FwParseError (a core `ParseError`, `<file>:<line>: <what>`; `kind` says which
 *   check failed): not UTF-8, a carriage return or NUL, too long, a line outside any section,
 *   an unknown or misplaced section, a bad or repeated ipset/group name, an unknown option or
 *   bad option value, a rule that does not parse or check (type, action, interface, protocol,
 *   ports, ICMP type, addresses, macro), a bad ipset entry or alias, a reference to an ipset,
 *   alias or security group that is not defined where it can be checked.
 */
export function parseFwFile(input: string | Uint8Array, options: ParseFwFileOptions): FwDocument {
  const { kind, fileName } = options;
  const text = decode(input, fileName);
  const allowed = FW_SECTIONS_BY_KIND[kind];
  const finalNewline = text.endsWith('\n');
  const rawLines = text === '' ? [] : (finalNewline ? text.slice(0, -1) : text).split('\n');

  const preamble: FwTriviaLine[] = [];
  const sections: Mutable<FwSection>[] = [];
  const seenNames = new Set<string>();
  const refs: FwReference[] = [];
  const aliasNames = new Set<string>();
  let entriesOfIpset = new Set<string>();
  let current: (Mutable<FwSection> & { lines: FwLine[] }) | undefined;

  rawLines.forEach((raw, index) => {
    const lineNo = index + 1;
    const fail = (kind: FwParseError['kind'], message: string): never => {
      throw new FwParseError(kind, fileName, message, lineNo);
    };
    const failWith = (p: FwLineProblem): never => fail(p.kind, p.problem);
    if (raw.length > FW_MAX_LINE_CHARS) fail('limit', `line is longer than ${FW_MAX_LINE_CHARS} characters`);
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c === 13) fail('encoding', 'carriage return in line (the file must use \\n line ends)');
      if (c === 0) fail('encoding', 'NUL character in line');
    }
    const line = trimWith(raw, isHSpace);
    const addTrivia = (t: FwTriviaLine): void => {
      if (current) current.lines.push(t);
      else preamble.push(t);
    };
    if (line.startsWith('#')) return addTrivia({ type: 'comment', raw });
    if (trimWith(line, isSpace) === '') return addTrivia({ type: 'blank', raw });

    const header = readSectionHeader(line);
    if (header && isProblem(header)) return failWith(header);
    if (header) {
      if (!allowed.includes(header.type)) fail('section', `section [${header.type.toUpperCase()}] is not allowed in a ${fwKindName(kind)} firewall file`);
      if (header.name !== undefined) {
        const key = `${header.type}:${header.name.toLowerCase()}`;
        if (seenNames.has(key)) fail('section', `${header.type === 'group' ? 'security group' : 'ipset'} '${header.name}' is defined twice`);
        seenNames.add(key);
      }
      current = { ...header, raw, lines: [] };
      entriesOfIpset = new Set();
      sections.push(current);
      return;
    }
    if (line.startsWith('[')) fail('section', `unknown section header '${line}'`);
    if (!current) return fail('section', 'line outside any section');

    switch (current.type) {
      case 'options': {
        const opt = readOptionLine(kind, line);
        if ('problem' in opt) return fail('option', opt.problem);
        current.lines.push({ type: 'option', name: opt.name, value: opt.value, raw });
        return;
      }
      case 'rules':
      case 'group': {
        const rule = readRuleLine(line, ruleEnvOf(kind, current.type));
        if (isProblem(rule)) return failWith(rule);
        collectRuleRefs(rule, lineNo, refs);
        current.lines.push({ type: 'rule', rule, raw });
        return;
      }
      case 'ipset': {
        const entry = readIpsetEntry(line);
        if (isProblem(entry)) return failWith(entry);
        if (entriesOfIpset.has(entry.cidr)) fail('entry', `duplicate entry '${entry.cidr}' in ipset '${current.name}'`);
        entriesOfIpset.add(entry.cidr);
        refs.push({ line: lineNo, what: 'alias', text: entry.cidr, inIpset: true });
        current.lines.push({ type: 'ipset-entry', ...entry, raw });
        return;
      }
      case 'aliases': {
        const alias = readAliasLine(line);
        if (isProblem(alias)) return failWith(alias);
        const lower = alias.name.toLowerCase();
        if (aliasNames.has(lower)) fail('entry', `alias '${alias.name}' is defined twice`);
        aliasNames.add(lower);
        current.lines.push({ type: 'alias', ...alias, raw });
        return;
      }
    }
  });

  const doc: FwDocument = { kind, preamble, sections, finalNewline };
  const problem = checkFwReferences(doc, refs, options.cluster);
  if (problem) throw new FwParseError('reference', fileName, problem.message, problem.line);
  return doc;
}

function collectRuleRefs(rule: FwRule, line: number, refs: FwReference[]): void {
  if (rule.type === 'group') refs.push({ line, what: 'group', text: rule.action });
  for (const value of [rule.source, rule.dest]) {
    if (value === undefined) continue;
    if (value.startsWith('+')) refs.push({ line, what: 'ipset', text: value.slice(1) });
    else refs.push({ line, what: 'alias', text: value });
  }
}

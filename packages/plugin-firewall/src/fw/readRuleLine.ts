/**
 * Reading one rule line (`|IN SSH(ACCEPT) -i net0 -source +trusted -log info # admins`) the
 * way pve-firewall's `parse_fw_rule` reads it, and checking its parts together as its
 * `verify_rule` does. Scans by index; no regular expression can backtrack.
 *
 * @packageDocumentation
 */
import type { FwLogLevel, FwRule, FwRuleType } from './fwDocument.js';
import { FW_LOG_LEVELS, fwKindName } from './fwDocument.js';
import type { FwErrorKind } from './FwParseError.js';
import { expandFwMacro, findFwMacro } from './fwMacros.js';
import { isSpace, skipSpace, splitComment, tokenEnd, trimWith } from './fwText.js';
import { checkIcmpType, checkIface, checkPorts, checkProto, isFwName, isIcmpProto, parseAddressSpec, protoHasPorts } from './fwValues.js';

/** Where a rule stands: the `[RULES]` of a file kind, or a `[group name]` section. */
export type FwRuleEnv = 'cluster' | 'host' | 'vm' | 'vnet' | 'group';

/** What is wrong with a line, with its class. */
export interface FwLineProblem {
  readonly kind: FwErrorKind;
  readonly problem: string;
}

const TYPES_BY_ENV: Readonly<Record<FwRuleEnv, readonly FwRuleType[]>> = {
  vm: ['in', 'out', 'group'],
  group: ['in', 'out', 'forward'],
  cluster: ['in', 'out', 'forward', 'group'],
  host: ['in', 'out', 'forward', 'group'],
  vnet: ['forward', 'group'],
};

type Field = 'proto' | 'dport' | 'sport' | 'source' | 'dest' | 'log' | 'icmpType';

/** Flag spellings (without the trailing space) and the field each sets. */
const FLAGS: ReadonlyArray<readonly [string, Field]> = [
  ['-p', 'proto'],
  ['-proto', 'proto'],
  ['--proto', 'proto'],
  ['-dport', 'dport'],
  ['--dport', 'dport'],
  ['-sport', 'sport'],
  ['--sport', 'sport'],
  ['-source', 'source'],
  ['--source', 'source'],
  ['-dest', 'dest'],
  ['--dest', 'dest'],
  ['-log', 'log'],
  ['--log', 'log'],
  ['-icmp-type', 'icmpType'],
  ['--icmp-type', 'icmpType'],
];

const VERDICTS = ['ACCEPT', 'DROP', 'REJECT'];

/** `value` written after `flag ` at `pos`: the value and the index after it and its trailing whitespace. */
function flagValue(text: string, pos: number, flag: string): { value: string; next: number } | undefined {
  if (!text.startsWith(flag, pos) || text[pos + flag.length] !== ' ') return undefined;
  const start = pos + flag.length + 1;
  const end = tokenEnd(text, start);
  if (end === start) return undefined;
  return { value: text.slice(start, end), next: skipSpace(text, end) };
}

/** The macro and verdict of `SSH(ACCEPT)`, or undefined when `action` is not written so. */
function splitMacro(action: string): { macro: string; verdict: string } | undefined {
  if (!action.endsWith(')')) return undefined;
  const open = action.lastIndexOf('(');
  if (open <= 0) return undefined;
  const verdict = action.slice(open + 1, -1);
  return VERDICTS.includes(verdict) ? { macro: action.slice(0, open), verdict } : undefined;
}

/**
 * Reads a rule line (trimmed, not empty, not a `#` comment line) of a rule section `env`.
 * Returns the rule, or what is wrong: a line that does not parse, a type or action that does
 * not belong there, a bad interface, protocol, port, ICMP type or address, an unknown macro,
 * mixed IPv4/IPv6 parts. Ipset, alias and group names are not looked up here.
 */
export function readRuleLine(line: string, env: FwRuleEnv): FwRule | FwLineProblem {
  const bad = (kind: FwErrorKind, problem: string): FwLineProblem => ({ kind, problem });
  const split = splitComment(line);
  const comment = split.comment;
  let body = split.body;
  const enabled = !body.startsWith('|');
  if (!enabled) body = body.slice(1);

  const typeEnd = tokenEnd(body, 0);
  const actionStart = skipSpace(body, typeEnd);
  const actionEnd = tokenEnd(body, actionStart);
  if (typeEnd === 0 || actionStart === typeEnd || actionEnd === actionStart) return bad('rule', `unable to parse rule '${line}' (expected TYPE ACTION [options])`);
  const typeText = body.slice(0, typeEnd).toLowerCase();
  let action = body.slice(actionStart, actionEnd);
  if (!['in', 'out', 'forward', 'group'].includes(typeText)) return bad('rule', `unknown rule type '${body.slice(0, typeEnd)}' (IN, OUT, FORWARD or GROUP)`);
  const type = typeText as FwRuleType;
  let macro: string | undefined;
  if (type !== 'group') {
    const split = splitMacro(action);
    if (split) ({ macro, verdict: action } = { macro: split.macro, verdict: split.verdict });
  }

  const fields: { -readonly [K in Field | 'iface']?: string } = {};
  let pos = skipSpace(body, actionEnd);
  while (pos < body.length) {
    const iface = flagValue(body, pos, '-i');
    if (iface) {
      fields.iface = iface.value;
      pos = iface.next;
      continue;
    }
    if (type === 'group') break;
    let matched = false;
    for (const [flag, field] of FLAGS) {
      const v = flagValue(body, pos, flag);
      if (!v) continue;
      if (field === 'log' && !(FW_LOG_LEVELS as readonly string[]).includes(v.value)) return bad('rule', `bad log level '${v.value}' (${FW_LOG_LEVELS.join(', ')})`);
      fields[field] = v.value;
      pos = v.next;
      matched = true;
      break;
    }
    if (!matched) break;
  }
  if (pos < body.length) return bad('rule', `unable to parse rule parameters '${body.slice(pos)}'`);

  const rule: FwRule = {
    enabled,
    type,
    action,
    ...(macro !== undefined ? { macro } : {}),
    ...(fields.iface !== undefined ? { iface: fields.iface } : {}),
    ...(fields.source !== undefined ? { source: fields.source } : {}),
    ...(fields.dest !== undefined ? { dest: fields.dest } : {}),
    ...(fields.proto !== undefined ? { proto: fields.proto } : {}),
    ...(fields.dport !== undefined ? { dport: fields.dport } : {}),
    ...(fields.sport !== undefined ? { sport: fields.sport } : {}),
    ...(fields.icmpType !== undefined ? { icmpType: fields.icmpType } : {}),
    ...(fields.log !== undefined ? { log: fields.log as FwLogLevel } : {}),
    ...(comment !== undefined ? { comment } : {}),
  };
  const problem = checkFwRule(rule, env);
  return problem ?? rule;
}

/**
 * Checks a rule's parts together as pve-firewall's `verify_rule` does (without looking up
 * ipsets, aliases and groups): undefined when it is good, else what is wrong.
 */
export function checkFwRule(rule: FwRule, env: FwRuleEnv): FwLineProblem | undefined {
  const bad = (kind: FwErrorKind, problem: string): FwLineProblem => ({ kind, problem });
  if (!TYPES_BY_ENV[env].includes(rule.type)) {
    return bad('rule', `${rule.type.toUpperCase()} rules are not allowed ${env === 'group' ? 'in a security group' : `in a ${fwKindName(env)} firewall file`}`);
  }
  if (rule.type === 'group') {
    if (!isFwName(rule.action)) return bad('rule', `invalid security group name '${rule.action}'`);
  } else {
    if (!VERDICTS.includes(rule.action)) return bad('rule', `unknown action '${rule.action}' (ACCEPT, DROP or REJECT, or MACRO(ACTION))`);
    if (rule.type === 'forward' && rule.action === 'REJECT') return bad('rule', 'REJECT is not allowed in FORWARD rules');
  }
  if (rule.iface !== undefined) {
    if (env === 'group' || env === 'vnet') return bad('rule', `parameter -i is not allowed in ${env === 'group' ? 'a security group rule' : 'a vnet firewall file'}`);
    const p = checkIface(rule.iface, env === 'vm');
    if (p) return bad('rule', p);
  }
  if (rule.macro !== undefined && !findFwMacro(rule.macro)) return bad('macro', `unknown macro '${rule.macro}'`);

  let ipVersion: 4 | 6 | undefined;
  const setVersion = (v: 4 | 6, what: string): FwLineProblem | undefined => {
    if (ipVersion !== undefined && ipVersion !== v) return bad('address', `mixed IPv4 and IPv6 in rule (${what})`);
    ipVersion = v;
    return undefined;
  };
  const icmp = rule.proto !== undefined && isIcmpProto(rule.proto);
  if (rule.proto !== undefined) {
    const p = checkProto(rule.proto);
    if (p) return bad('rule', p);
    if (rule.proto === 'icmp') setVersion(4, 'proto');
    if (rule.proto === 'icmpv6' || rule.proto === 'ipv6-icmp') setVersion(6, 'proto');
  }
  if (rule.dport !== undefined) {
    if (rule.proto === undefined) return bad('rule', "'-dport' needs a protocol (-p)");
    const p = checkPorts(rule.dport, icmp);
    if (p) return bad('port', `dport: ${p}`);
    if (!protoHasPorts(rule.proto) && !icmp) return bad('port', `protocol '${rule.proto}' does not support ports`);
  }
  if (rule.icmpType !== undefined) {
    if (!icmp) return bad('rule', "'-icmp-type' needs protocol icmp, icmpv6 or ipv6-icmp");
    if (rule.dport !== undefined) return bad('rule', "'-icmp-type' cannot be given together with '-dport'");
    const p = checkIcmpType(rule.icmpType, rule.proto!);
    if (p) return bad('rule', p);
  }
  if (rule.sport !== undefined) {
    if (rule.proto === undefined) return bad('rule', "'-sport' needs a protocol (-p)");
    const p = checkPorts(rule.sport, false);
    if (p) return bad('port', `sport: ${p}`);
    if (!protoHasPorts(rule.proto)) return bad('port', `protocol '${rule.proto}' does not support ports`);
  }
  for (const key of ['source', 'dest'] as const) {
    const value = rule[key];
    if (value === undefined) continue;
    const spec = parseAddressSpec(value);
    if (typeof spec === 'string') return bad('address', `${key}: ${spec}`);
    if (spec.type === 'list') {
      const p = setVersion(spec.family, key);
      if (p) return p;
    }
  }
  if (rule.macro !== undefined) {
    try {
      expandFwMacro(rule, ipVersion);
    } catch (err) {
      return bad('macro', (err as Error).message);
    }
  }
  return undefined;
}

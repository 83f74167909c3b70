/**
 * One Proxmox firewall rule as nftables rule bodies. Lists in `source`, `dest`, `sport` and
 * `dport` become one nft rule per combination (never an anonymous set per rule: those cost
 * about 1 ms each to load); ipsets become lookups in their named sets.
 *
 * @packageDocumentation
 */
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidConfigError, type FirewallLogLevel, type FirewallRule, type FirewallRuleset } from '@corral/core';
import { ipsetRanges, parseAddressRange, rangeExpression } from './addressRanges.js';
import type { NftExpression, NftStatement } from './nftJson.js';
import { REJECT_CHAIN, checkGroupName, groupChain, ipsetSet } from './nftNames.js';

/** Where a rule is compiled: its chain and what the rule's names mean there. */
export interface RuleContext {
  readonly ruleset: FirewallRuleset;
  /** `in` or `out` chain of a guest, a group or the host; `forward` for host forward rules. */
  readonly direction: 'in' | 'out' | 'forward';
  /** 0 for host and group chains. */
  readonly vmid: number;
  /** Chain name, used in log prefixes. */
  readonly chain: string;
  /** Guest chains: the port ids (marks) of NIC `iface`; undefined when the guest has no such NIC. Host chains: absent. */
  readonly nicMarks?: (iface: string) => readonly number[] | undefined;
  /** Key prefix naming the rule in errors (`guest 100 rule 3`). */
  readonly key: string;
}

/** Syslog level numbers, as Proxmox's log prefix carries them. */
const LOG_LEVELS: Readonly<Record<Exclude<FirewallLogLevel, 'nolog'>, number>> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

const PORT_PROTOS = new Set(['tcp', 'udp', 'udplite', 'dccp', 'sctp']);
const ICMP_PROTOS: Readonly<Record<string, { family: 4 | 6; payload: string }>> = {
  icmp: { family: 4, payload: 'icmp' },
  icmpv6: { family: 6, payload: 'icmpv6' },
  'ipv6-icmp': { family: 6, payload: 'icmpv6' },
};

/**
 * The nflog statement for a log level (none for `nolog`/undefined): the prefix is
 * `:<vmid>:<level number>:<chain>: <ACTION>: ` as Proxmox's `pvefw-logger` reads it.
 */
export function logStatement(level: FirewallLogLevel | undefined, ruleset: FirewallRuleset, vmid: number, chain: string, action: string): NftStatement[] {
  if (level === undefined || level === 'nolog') return [];
  const num = LOG_LEVELS[level];
  if (num === undefined) throw new InvalidConfigError('log', level, `log: '${String(level)}' is not a log level (${Object.keys(LOG_LEVELS).join(', ')}, nolog)`);
  return [{ log: { prefix: `:${vmid}:${num}:${chain}: ${action}: `.slice(0, 127), group: ruleset.logGroup ?? 0 } }];
}

/** The verdict of `action` (ACCEPT, DROP, REJECT). */
export function verdictOf(action: string, key: string): NftStatement {
  switch (action) {
    case 'ACCEPT':
      return { accept: null };
    case 'DROP':
      return { drop: null };
    case 'REJECT':
      return { goto: { target: REJECT_CHAIN } };
    default:
      throw new InvalidConfigError(key, action, `${key}: '${action}' is not ACCEPT, DROP or REJECT (or a security group with group: true)`);
  }
}

interface AddressMatch {
  readonly family: 4 | 6;
  readonly right: NftExpression;
}

function lookupAlias(aliases: Readonly<Record<string, string>>, name: string): string | undefined {
  const bare = name.replace(/^(dc|guest)\//, '');
  return aliases[name] ?? aliases[name.toLowerCase()] ?? aliases[bare] ?? aliases[bare.toLowerCase()];
}

function addressMatches(spec: string, ruleset: FirewallRuleset, key: string): AddressMatch[] {
  // The common case, one plain address, without parsing it into numbers.
  if (isIPv4(spec)) return [{ family: 4, right: spec }];
  if (isIPv6(spec)) return [{ family: 6, right: spec }];
  const out: AddressMatch[] = [];
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') throw new InvalidConfigError(key, spec, `${key}: empty entry in '${spec}'`);
    if (item.startsWith('+')) {
      const name = item.slice(1);
      const entries = ruleset.ipsets[name] ?? ruleset.ipsets[name.replace(/^(dc|guest)\//, '')];
      const setName = ruleset.ipsets[name] !== undefined ? name : name.replace(/^(dc|guest)\//, '');
      if (entries === undefined) throw new InvalidConfigError(key, item, `${key}: ipset '${name}' is not defined`);
      const ranges = ipsetRanges(entries, `ipset ${name}`);
      if (ranges.v4.length > 0) out.push({ family: 4, right: `@${ipsetSet(setName, 4)}` });
      if (ranges.v6.length > 0) out.push({ family: 6, right: `@${ipsetSet(setName, 6)}` });
      continue;
    }
    const looksLikeAddress = /^[0-9a-fA-F:.\-/]+$/.test(item) && /[.:]/.test(item);
    const alias = looksLikeAddress ? undefined : lookupAlias(ruleset.aliases, item);
    if (!looksLikeAddress && alias === undefined) throw new InvalidConfigError(key, item, `${key}: '${item}' is neither an address nor a defined alias`);
    const text = alias ?? item;
    const range = parseAddressRange(text, alias === undefined ? key : `${key} (alias ${item})`);
    // A single address is passed as written (nft reads every valid form); others are normalized.
    out.push({ family: range.family, right: range.first === range.last && !text.includes('/') && !text.includes('-') ? text : rangeExpression(range) });
  }
  return out;
}

function portValues(spec: string, key: string): NftExpression[] {
  if (/^\d{1,5}$/.test(spec) && Number(spec) <= 65535) return [Number(spec)];
  return spec.split(',').map((raw) => {
    const item = raw.trim();
    // A service name (`ssh`): nft looks it up in /etc/services, as Proxmox does.
    if (/^[a-z][a-z0-9-]{0,31}$/i.test(item)) return item.toLowerCase();
    const m = /^(\d{1,5})(?:[:-](\d{1,5}))?$/.exec(item);
    const a = m ? Number(m[1]) : NaN;
    const b = m?.[2] !== undefined ? Number(m[2]) : a;
    if (!m || a > 65535 || b > 65535 || b < a) throw new InvalidConfigError(key, spec, `${key}: '${item}' is not a port or port range (n or n:m, 0-65535)`);
    return a === b ? a : { range: [a, b] as const };
  });
}

function addressStatement(family: 4 | 6, field: 'saddr' | 'daddr', right: NftExpression): NftStatement {
  return { match: { op: '==', left: { payload: { protocol: family === 4 ? 'ip' : 'ip6', field } }, right } };
}

/**
 * Compiles `rule` into rule bodies (statement lists) for the chain `ctx` describes. A
 * disabled rule, or one whose ipsets are empty, yields none. Throws `InvalidConfigError` for
 * an unknown action, alias, ipset, group or NIC, a bad address or port, ports without a
 * port protocol, or an unexpanded macro.
 */
export function compileRule(rule: FirewallRule, ctx: RuleContext): NftStatement[][] {
  if (!rule.enabled) return [];
  const key = ctx.key;
  if (rule.macro !== undefined) throw new InvalidConfigError(`${key}.macro`, rule.macro, `${key}: macro '${rule.macro}' must be expanded into rules before compiling`);
  const head: NftStatement[] = [];
  let protoFamily: 4 | 6 | undefined;
  const proto = rule.proto?.toLowerCase();
  if (proto !== undefined) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(proto)) throw new InvalidConfigError(`${key}.proto`, rule.proto, `${key}: '${rule.proto}' is not a protocol name or number`);
    const icmp = ICMP_PROTOS[proto];
    protoFamily = icmp?.family;
    // A port or ICMP type match implies the protocol (nft inserts that dependency itself): the
    // explicit l4proto match is left out then, which makes the JSON nft parses smaller.
    const implied = rule.icmpType !== undefined || ((rule.sport !== undefined || rule.dport !== undefined) && PORT_PROTOS.has(proto));
    if (!implied)
      head.push({
        match: { op: '==', left: { meta: { key: 'l4proto' } }, right: /^\d+$/.test(proto) ? Number(proto) : icmp ? (icmp.family === 4 ? 'icmp' : 'ipv6-icmp') : proto },
      });
    if (rule.icmpType !== undefined) {
      if (!icmp) throw new InvalidConfigError(`${key}.icmpType`, rule.icmpType, `${key}: icmp-type needs proto icmp or icmpv6`);
      const t = rule.icmpType;
      if (!/^[a-z0-9-]+$/.test(t)) throw new InvalidConfigError(`${key}.icmpType`, t, `${key}: '${t}' is not an ICMP type`);
      head.push({ match: { op: '==', left: { payload: { protocol: icmp.payload, field: 'type' } }, right: /^\d+$/.test(t) ? Number(t) : t } });
    }
  } else if (rule.icmpType !== undefined) {
    throw new InvalidConfigError(`${key}.icmpType`, rule.icmpType, `${key}: icmp-type needs proto icmp or icmpv6`);
  }
  if ((rule.sport !== undefined || rule.dport !== undefined) && (proto === undefined || !PORT_PROTOS.has(proto))) {
    throw new InvalidConfigError(`${key}.proto`, rule.proto, `${key}: ports need proto tcp, udp, udplite, dccp or sctp`);
  }
  if (rule.ipVersion !== undefined) {
    if (rule.ipVersion !== 4 && rule.ipVersion !== 6) throw new InvalidConfigError(`${key}.ipVersion`, rule.ipVersion, `${key}: ipVersion must be 4 or 6`);
    if (protoFamily !== undefined && protoFamily !== rule.ipVersion) return [];
    protoFamily = rule.ipVersion;
    head.unshift({ match: { op: '==', left: { meta: { key: 'nfproto' } }, right: rule.ipVersion === 4 ? 'ipv4' : 'ipv6' } });
  }
  let markMatches: NftStatement[] = [];
  if (rule.iface !== undefined) {
    if (ctx.nicMarks) {
      const marks = ctx.nicMarks(rule.iface);
      if (marks === undefined) throw new InvalidConfigError(`${key}.iface`, rule.iface, `${key}: the guest has no firewalled NIC '${rule.iface}'`);
      if (marks.length === 0) return [];
      // One rule per port of the NIC rather than an anonymous set.
      markMatches = marks.map((m) => ({ match: { op: '==', left: { meta: { key: 'mark' } }, right: m } }));
    } else {
      head.push({ match: { op: '==', left: { meta: { key: ctx.direction === 'out' ? 'oifname' : 'iifname' } }, right: rule.iface } });
    }
  }
  let tail: NftStatement;
  if (rule.group) {
    checkGroupName(rule.action, `${key}.action`);
    if (ctx.ruleset.groups[rule.action] === undefined) throw new InvalidConfigError(`${key}.action`, rule.action, `${key}: security group '${rule.action}' is not defined`);
    if (ctx.direction === 'forward') throw new InvalidConfigError(`${key}.action`, rule.action, `${key}: security groups apply to in and out chains only`);
    tail = { jump: { target: groupChain(rule.action, ctx.direction) } };
  } else {
    tail = verdictOf(rule.action, `${key}.action`);
  }
  const log = rule.group ? [] : logStatement(rule.log, ctx.ruleset, ctx.vmid, ctx.chain, rule.action);
  const sources: Array<AddressMatch | undefined> = rule.source !== undefined ? addressMatches(rule.source, ctx.ruleset, `${key}.source`) : [undefined];
  const dests: Array<AddressMatch | undefined> = rule.dest !== undefined ? addressMatches(rule.dest, ctx.ruleset, `${key}.dest`) : [undefined];
  const sports: Array<NftExpression | undefined> = rule.sport !== undefined ? portValues(rule.sport, `${key}.sport`) : [undefined];
  const dports: Array<NftExpression | undefined> = rule.dport !== undefined ? portValues(rule.dport, `${key}.dport`) : [undefined];
  const out: NftStatement[][] = [];
  for (const mark of markMatches.length > 0 ? markMatches : [undefined]) {
    for (const s of sources) {
      for (const d of dests) {
        if (s && d && s.family !== d.family) continue;
        const family = s?.family ?? d?.family;
        if (family !== undefined && protoFamily !== undefined && family !== protoFamily) continue;
        for (const sp of sports) {
          for (const dp of dports) {
            const body: NftStatement[] = mark ? [mark, ...head] : [...head];
            if (s) body.push(addressStatement(s.family, 'saddr', s.right));
            if (d) body.push(addressStatement(d.family, 'daddr', d.right));
            if (sp !== undefined) body.push({ match: { op: '==', left: { payload: { protocol: proto!, field: 'sport' } }, right: sp } });
            if (dp !== undefined) body.push({ match: { op: '==', left: { payload: { protocol: proto!, field: 'dport' } }, right: dp } });
            out.push([...body, ...log, tail]);
          }
        }
      }
    }
  }
  return out;
}

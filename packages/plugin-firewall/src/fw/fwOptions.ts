/**
 * The `[OPTIONS]` of each firewall file kind, as pve-firewall's `parse_clusterfw_option`,
 * `parse_hostfw_option` and `parse_vmfw_option` accept them, and the reading of one
 * `name: value` line.
 *
 * @packageDocumentation
 */
import type { FwFileKind } from './fwDocument.js';
import { FW_LOG_LEVELS, fwKindName } from './fwDocument.js';
import { checkConntrackHelpers, checkEthertypes } from './fwValues.js';
import { isSpace, trimWith } from './fwText.js';

/**
 * How an option's value is read:
 * `bool` `0`/`1`; `uint` digits (stored as a number, `007` as `7`); `policy` ACCEPT/DROP/REJECT
 * in any case (stored upper case); `forward-policy` ACCEPT/DROP likewise; `loglevel` a log level
 * in any case or nothing (stored lower case, `''` for nothing); `loglevel-set` a log level; `ratelimit` `enable=1,rate=1/second,burst=5`; `helpers` conntrack
 * helper names (stored lower case); `queues` `N` or `N:M`; `ethertypes` `/etc/ethertypes` names.
 */
export type FwOptionValueType = 'bool' | 'uint' | 'policy' | 'forward-policy' | 'loglevel' | 'loglevel-set' | 'ratelimit' | 'helpers' | 'queues' | 'ethertypes';

/** One option of a file kind. */
export interface FwOptionSpec {
  readonly name: string;
  readonly type: FwOptionValueType;
  /** The name must be written in lower case (Proxmox reads `log_ratelimit` case-sensitively; every other name in any case). */
  readonly lowerCaseOnly?: boolean;
}

const spec = (type: FwOptionValueType, names: readonly string[]): FwOptionSpec[] => names.map((name) => ({ name, type }));

/** The options of each file kind. */
export const FW_OPTIONS: Readonly<Record<FwFileKind, readonly FwOptionSpec[]>> = {
  cluster: [
    // `enable` is a number: Proxmox reads a value above 1 as a time stamp (enabled for 60 s from then).
    { name: 'enable', type: 'uint' },
    { name: 'ebtables', type: 'bool' },
    ...spec('policy', ['policy_in', 'policy_out', 'policy_forward']),
    { name: 'log_ratelimit', type: 'ratelimit', lowerCaseOnly: true },
  ],
  host: [
    ...spec('bool', ['enable', 'nosmurfs', 'tcpflags', 'ndp', 'log_nf_conntrack', 'nf_conntrack_allow_invalid', 'protection_synflood', 'nftables']),
    ...spec('loglevel', ['log_level_in', 'log_level_out', 'log_level_forward', 'tcp_flags_log_level', 'smurf_log_level']),
    { name: 'nf_conntrack_helpers', type: 'helpers' },
    ...spec('uint', [
      'nf_conntrack_max',
      'nf_conntrack_tcp_timeout_established',
      'nf_conntrack_tcp_timeout_syn_recv',
      'protection_synflood_rate',
      'protection_synflood_burst',
      'protection_limit',
    ]),
  ],
  vm: [
    ...spec('bool', ['enable', 'dhcp', 'ndp', 'radv', 'macfilter', 'ipfilter', 'ips']),
    ...spec('loglevel', ['log_level_in', 'log_level_out']),
    ...spec('policy', ['policy_in', 'policy_out']),
    { name: 'ips_queues', type: 'queues' },
    { name: 'layer2_protocols', type: 'ethertypes' },
  ],
  vnet: [
    { name: 'enable', type: 'uint' },
    { name: 'policy_forward', type: 'forward-policy' },
    { name: 'log_level_forward', type: 'loglevel-set' },
  ],
};

/** The option named `name` (any case) of file kind `kind`, or undefined. */
export function fwOptionSpec(kind: FwFileKind, name: string): FwOptionSpec | undefined {
  const lower = name.toLowerCase();
  const found = FW_OPTIONS[kind].find((o) => o.name === lower);
  if (found?.lowerCaseOnly && name !== lower) return undefined;
  return found;
}

const DIGITS_RE = /^[0-9]+$/;
const NO_SPACE_RE = /^[^ \t\f\v]+$/;

const PVE_BOOLEANS = ['0', '1', 'on', 'off', 'yes', 'no', 'true', 'false'];

/**
 * A `log_ratelimit` property string as pve-firewall's format reads it: `enable` (the default
 * key, so a bare `1` is `enable=1`; a PVE boolean), `rate` (`<n>/second|minute|hour|day`, n ≥
 * 1), `burst` (integer ≥ 0), each at most once.
 */
function checkRatelimit(value: string): string | undefined {
  const seen = new Set<string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? 'enable' : part.slice(0, eq);
    const v = part.slice(eq + 1);
    if (seen.has(key)) return `log_ratelimit gives '${key}' twice`;
    seen.add(key);
    if (key === 'enable' && PVE_BOOLEANS.includes(v.toLowerCase())) continue;
    if (key === 'burst' && DIGITS_RE.test(v) && v.length <= 9) continue;
    if (key === 'rate') {
      const slash = v.indexOf('/');
      const n = v.slice(0, slash);
      if (slash > 0 && DIGITS_RE.test(n) && !n.startsWith('0') && ['second', 'minute', 'hour', 'day'].includes(v.slice(slash + 1))) continue;
    }
    return `bad log_ratelimit part '${part}' (enable=0|1, rate=<n>/second|minute|hour|day, burst=<n>)`;
  }
  return undefined;
}

/** Reads an option's value text (trimmed) as `type` does: the stored value, or what is wrong as `{ problem }`. */
function readValue(type: FwOptionValueType, text: string): string | { problem: string } {
  switch (type) {
    case 'bool':
      return text === '0' || text === '1' ? text : { problem: `'${text}' is not 0 or 1` };
    case 'uint':
      return DIGITS_RE.test(text) && text.length <= 15 ? String(Number(text)) : { problem: `'${text}' is not a non-negative integer` };
    case 'policy': {
      const upper = text.toUpperCase();
      return upper === 'ACCEPT' || upper === 'DROP' || upper === 'REJECT' ? upper : { problem: `'${text}' is not ACCEPT, DROP or REJECT` };
    }
    case 'forward-policy': {
      const upper = text.toUpperCase();
      return upper === 'ACCEPT' || upper === 'DROP' ? upper : { problem: `'${text}' is not ACCEPT or DROP` };
    }
    case 'loglevel':
    case 'loglevel-set': {
      const lower = text.toLowerCase();
      return (lower === '' && type === 'loglevel') || (FW_LOG_LEVELS as readonly string[]).includes(lower) ? lower : { problem: `'${text}' is not a log level (${FW_LOG_LEVELS.join(', ')})` };
    }
    case 'ratelimit': {
      if (!NO_SPACE_RE.test(text)) return { problem: `'${text}' is not a rate limit` };
      const problem = checkRatelimit(text);
      return problem ? { problem } : text;
    }
    case 'helpers': {
      const lower = text.toLowerCase();
      if (!NO_SPACE_RE.test(lower)) return { problem: `'${text}' is not a list of conntrack helpers` };
      const problem = checkConntrackHelpers(lower);
      return problem ? { problem } : lower;
    }
    case 'queues': {
      const colon = text.indexOf(':');
      const ok = colon < 0 ? DIGITS_RE.test(text) : DIGITS_RE.test(text.slice(0, colon)) && DIGITS_RE.test(text.slice(colon + 1));
      return ok && text.length <= 12 ? text : { problem: `'${text}' is not N or N:M` };
    }
    case 'ethertypes': {
      if (!NO_SPACE_RE.test(text)) return { problem: `'${text}' is not a list of ethernet protocol types` };
      const problem = checkEthertypes(text);
      return problem ? { problem } : text;
    }
  }
}

/**
 * Reads one option line (already trimmed) of a `kind` file: `{ name, value }` with the name in
 * lower case and the value as stored (see {@link FwOptionValueType}), or `{ problem }` naming
 * what is wrong (an unknown option, or a bad value).
 */
export function readOptionLine(kind: FwFileKind, line: string): { name: string; value: string } | { problem: string } {
  const colon = line.indexOf(':');
  if (colon < 0) return { problem: `'${line}' is not an option line (name: value)` };
  const written = line.slice(0, colon);
  const option = fwOptionSpec(kind, written);
  if (!option) return { problem: `unknown option '${written}' in a ${fwKindName(kind)} firewall file` };
  const value = readValue(option.type, trimWith(line.slice(colon + 1), isSpace));
  if (typeof value !== 'string') return { problem: `option ${option.name}: ${value.problem}` };
  return { name: option.name, value };
}

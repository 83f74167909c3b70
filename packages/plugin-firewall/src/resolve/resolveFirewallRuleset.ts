/**
 * From Proxmox's firewall files to the rule set a backend compiles: `cluster.fw`, `host.fw`
 * and the guests' `<vmid>.fw` (parsed documents) plus each guest's NICs become one
 * `FirewallRuleset`, resolved as pve-firewall resolves them: macros expanded, aliases replaced
 * by their addresses (guest scope before cluster scope), ipset references pointed at the
 * guest's or the cluster's set, options with Proxmox's defaults, the host's implicit rules
 * (IGMP, the `management` ipset's services).
 *
 * @packageDocumentation
 */
import {
  InvalidConfigError,
  type FirewallAction,
  type FirewallGuestNic,
  type FirewallGuestRuleset,
  type FirewallLogLevel,
  type FirewallRule,
  type FirewallRuleset,
} from '@corral/core';
import type { FwDocument, FwRule } from '../fw/fwDocument.js';
import { fwAliases, fwGroups, fwIpsets, fwOptionValues, fwRules } from '../fw/fwDocumentView.js';
import { expandFwMacro } from '../fw/fwMacros.js';
import { isIcmpProto, parseAddressSpec } from '../fw/fwValues.js';
import { formatAddress, ipsetRanges, parseAddressRange, type AddressRange } from '../nft/addressRanges.js';

/** One NIC of a guest as its config says it (`net0: virtio=BC:24:...,bridge=vmbr0,firewall=1`). */
export interface FirewallNicInput {
  /** The NIC's key (`net0`). */
  readonly key: string;
  /** The host port the guest's traffic passes (`tap100i0`, `veth101i0`). */
  readonly port: string;
  /** The NIC's MAC address (for macfilter and the IPv6 link-local address of ipfilter). */
  readonly mac?: string;
  /** `firewall=1`: only such NICs are filtered. */
  readonly firewall: boolean;
  /** Addresses the guest config gives the NIC (a container's `ip=`/`ip6=`), allowed by ipfilter. */
  readonly ips?: readonly string[];
}

/** A guest: its firewall file (absent: no file, not filtered) and its NICs. */
export interface FirewallGuestInput {
  readonly vmid: number;
  readonly document?: FwDocument;
  readonly nics: readonly FirewallNicInput[];
}

/** What {@link resolveFirewallRuleset} reads. */
export interface FirewallResolveInput {
  /** `cluster.fw`; absent: the firewall is off (as on Proxmox without the file). */
  readonly cluster?: FwDocument;
  /** This node's `host.fw`. */
  readonly host?: FwDocument;
  readonly guests: readonly FirewallGuestInput[];
  /**
   * The cluster network (CIDR) that fills the `management` ipset when `cluster.fw` defines
   * none, as Proxmox fills it with the local network. Absent: no implicit management access.
   */
  readonly localNetwork?: string;
  /** Now, in seconds since the epoch: a cluster `enable` above 1 is a time stamp, on for 60 s. Default: the clock. */
  readonly now?: number;
}

const LOG_LEVELS = new Set(['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog']);

const EMPTY_DOC: FwDocument = { kind: 'cluster', preamble: [], sections: [], finalNewline: true };

function optionsOf(doc: FwDocument | undefined): Map<string, string> {
  return new Map(Object.entries(fwOptionValues(doc ?? EMPTY_DOC)));
}

function aliasesOf(doc: FwDocument | undefined): Map<string, string> {
  return new Map(Object.entries(fwAliases(doc ?? EMPTY_DOC)).map(([name, a]) => [name, a.cidr]));
}

function ipsetsOf(doc: FwDocument | undefined): Map<string, Array<{ nomatch: boolean; cidr: string }>> {
  return new Map(Object.entries(fwIpsets(doc ?? EMPTY_DOC)).map(([name, set]) => [name, set.entries.map((e) => ({ nomatch: e.nomatch, cidr: e.cidr }))]));
}

const flag = (options: Map<string, string>, name: string, fallback: boolean): boolean => {
  const v = options.get(name);
  return v === undefined ? fallback : v !== '0';
};

const policy = (options: Map<string, string>, name: string, fallback: FirewallAction): FirewallAction => {
  const v = options.get(name)?.toUpperCase();
  return v === 'ACCEPT' || v === 'DROP' || v === 'REJECT' ? v : fallback;
};

const logLevel = (options: Map<string, string>, name: string): FirewallLogLevel | undefined => {
  const v = options.get(name)?.toLowerCase();
  return v && LOG_LEVELS.has(v) ? (v as FirewallLogLevel) : undefined;
};

/** The IPv6 link-local address of a MAC (EUI-64, as pve-firewall's `mac_to_linklocal`). */
export function macToLinkLocal(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  if (b.length !== 6 || b.some((x) => Number.isNaN(x))) throw new InvalidConfigError('mac', mac, `'${mac}' is not a MAC address`);
  const hex = (x: number, y: number): string => ((x << 8) | y).toString(16);
  return `fe80::${hex(b[0]! ^ 0x02, b[1]!)}:${hex(b[2]!, 0xff)}:${hex(0xfe, b[3]!)}:${hex(b[4]!, b[5]!)}`;
}

/** Where names in a rule resolve: a guest's file first (when there is one), then the cluster's. */
interface Scope {
  readonly file: string;
  readonly vmid?: number;
  readonly guestAliases: Map<string, string>;
  readonly guestIpsets: Map<string, unknown>;
  readonly clusterAliases: Map<string, string>;
  readonly clusterIpsets: Map<string, unknown>;
}

function resolveAlias(scope: Scope, name: string, aliasScope: string | undefined, key: string): string {
  const lower = name.toLowerCase();
  const cidr =
    (aliasScope !== 'dc' && scope.vmid !== undefined ? scope.guestAliases.get(lower) : undefined) ?? (aliasScope !== 'guest' ? scope.clusterAliases.get(lower) : undefined);
  if (cidr === undefined) throw new InvalidConfigError(key, name, `${key}: no such alias '${name}'`);
  return cidr;
}

/** An address field with aliases replaced and ipsets named as the rule set names them. */
function resolveAddress(scope: Scope, text: string, key: string): string {
  const spec = parseAddressSpec(text);
  if (typeof spec === 'string') throw new InvalidConfigError(key, text, `${key}: ${spec}`);
  if (spec.type === 'list') return text;
  if (spec.type === 'alias') return resolveAlias(scope, spec.name, spec.scope, key);
  const lower = spec.name.toLowerCase();
  if (spec.scope === 'sdn') throw new InvalidConfigError(key, text, `${key}: SDN ipsets ('${text}') are not supported`);
  if (spec.scope !== 'dc' && scope.vmid !== undefined && scope.guestIpsets.has(lower)) return `+guest/${scope.vmid}/${lower}`;
  if (spec.scope !== 'guest' && scope.clusterIpsets.has(lower)) return `+${lower}`;
  throw new InvalidConfigError(key, text, `${key}: no such ipset '${spec.name}'`);
}

function familyOfAddress(text: string | undefined): 4 | 6 | undefined {
  if (text === undefined || text.startsWith('+')) return undefined;
  try {
    return parseAddressRange(text.split(',')[0]!, 'address').family;
  } catch {
    return undefined;
  }
}

/** One `.fw` rule as contract rules: addresses resolved, a macro expanded per IP version. */
function convertRule(scope: Scope, rule: FwRule, key: string): FirewallRule[] {
  const source = rule.source === undefined ? undefined : resolveAddress(scope, rule.source, `${key}.source`);
  const dest = rule.dest === undefined ? undefined : resolveAddress(scope, rule.dest, `${key}.dest`);
  const resolved: FwRule = { ...rule, ...(source !== undefined ? { source } : {}), ...(dest !== undefined ? { dest } : {}) };
  let expanded: Array<{ rule: FwRule; ipVersion?: 4 | 6 }>;
  try {
    if (rule.macro === undefined) expanded = [{ rule: resolved }];
    else {
      const family = familyOfAddress(source) ?? familyOfAddress(dest);
      if (family !== undefined) expanded = expandFwMacro(resolved, family).map((r) => ({ rule: r }));
      else {
        const v4 = expandFwMacro(resolved, 4);
        const v6 = expandFwMacro(resolved, 6);
        expanded =
          JSON.stringify(v4) === JSON.stringify(v6)
            ? v4.map((r) => ({ rule: r }))
            : [...v4.map((r) => ({ rule: r, ipVersion: 4 as const })), ...v6.map((r) => ({ rule: r, ipVersion: 6 as const }))];
      }
    }
  } catch (err) {
    throw new InvalidConfigError(`${key}.macro`, rule.macro, `${key}: ${(err as Error).message}`);
  }
  return expanded.map(({ rule: r, ipVersion }) => {
    const icmp = r.proto !== undefined && isIcmpProto(r.proto);
    // Proxmox keeps an ICMP type in `dport` when proto is ICMP.
    const icmpType = r.icmpType ?? (icmp && r.dport !== undefined ? r.dport : undefined);
    const out: FirewallRule = {
      direction: r.type === 'group' ? 'in' : r.type,
      action: r.type === 'group' ? r.action.toLowerCase() : r.action,
      enabled: r.enabled,
      ...(r.type === 'group' ? { group: true } : {}),
      ...(r.iface !== undefined ? { iface: r.iface } : {}),
      ...(r.source !== undefined ? { source: r.source } : {}),
      ...(r.dest !== undefined ? { dest: r.dest } : {}),
      ...(r.proto !== undefined ? { proto: r.proto } : {}),
      ...(r.sport !== undefined ? { sport: r.sport } : {}),
      ...(!icmp && r.dport !== undefined ? { dport: r.dport } : {}),
      ...(icmpType !== undefined ? { icmpType } : {}),
      ...(r.log !== undefined ? { log: r.log } : {}),
      ...(r.comment !== undefined ? { comment: r.comment } : {}),
      ...(ipVersion !== undefined ? { ipVersion } : {}),
    };
    return out;
  });
}

function ipsetEntries(scope: Scope, entries: Array<{ nomatch: boolean; cidr: string }>, key: string): string[] {
  return entries.map((e) => {
    const cidr = /^[0-9a-fA-F.:/-]+$/.test(e.cidr) && /[.:]/.test(e.cidr) ? e.cidr : resolveAddress(scope, e.cidr, key);
    return `${e.nomatch ? '!' : ''}${cidr}`;
  });
}

const rangeText = (r: AddressRange): string => (r.first === r.last ? formatAddress(r.first, r.family) : `${formatAddress(r.first, r.family)}-${formatAddress(r.last, r.family)}`);

/**
 * Resolves the files into one rule set (a disabled one, with nothing else resolved, when
 * `cluster.fw` is missing or does not enable the firewall). Throws `InvalidConfigError` naming the file and rule
 * (`100.fw rule 3.source`) for an unknown alias, ipset or macro, or a parameter a macro
 * contradicts. Rules of the host are `host.fw`'s followed by `cluster.fw`'s (so a host rule
 * wins), then the `management` ipset's services (8006, 5900:5999, 3128, 22, 60000:60050 over
 * TCP), as pve-firewall builds its host chain.
 */
export function resolveFirewallRuleset(input: FirewallResolveInput): FirewallRuleset {
  const clusterOptions = optionsOf(input.cluster);
  const hostOptions = optionsOf(input.host);
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const enableValue = Number(clusterOptions.get('enable') ?? '0');
  const enabled = input.cluster !== undefined && (enableValue === 1 || (enableValue > 1 && now - enableValue <= 60));
  // Off: nothing is resolved (a broken guest file does not matter then), as pve-firewall removes its rules.
  if (!enabled) return { enabled: false, policyIn: 'ACCEPT', policyOut: 'ACCEPT', hostRules: [], guests: [], groups: {}, ipsets: {}, aliases: {} };
  const clusterAliases = aliasesOf(input.cluster);
  const clusterIpsetEntries = ipsetsOf(input.cluster);
  if (!clusterIpsetEntries.has('management') && input.localNetwork !== undefined) clusterIpsetEntries.set('management', [{ nomatch: false, cidr: input.localNetwork }]);
  const clusterScope: Scope = { file: 'cluster.fw', guestAliases: new Map(), guestIpsets: new Map(), clusterAliases, clusterIpsets: clusterIpsetEntries };

  const ipsets: Record<string, readonly string[]> = {};
  for (const [name, entries] of clusterIpsetEntries) ipsets[name] = ipsetEntries(clusterScope, entries, `cluster.fw ipset ${name}`);

  const groups: Record<string, readonly FirewallRule[]> = {};
  for (const [name, group] of Object.entries(fwGroups(input.cluster ?? EMPTY_DOC))) {
    groups[name] = group.rules.flatMap((r, i) => convertRule(clusterScope, r, `cluster.fw group ${name} rule ${i + 1}`));
  }

  const hostEnabled = flag(hostOptions, 'enable', true);
  const hostRules: FirewallRule[] = [];
  if (hostEnabled) {
    hostRules.push({ direction: 'in', action: 'ACCEPT', enabled: true, proto: 'igmp', comment: 'multicast membership (implicit)' });
    fwRules(input.host ?? EMPTY_DOC).forEach((r, i) => hostRules.push(...convertRule(clusterScope, r, `host.fw rule ${i + 1}`)));
    fwRules(input.cluster ?? EMPTY_DOC).forEach((r, i) => hostRules.push(...convertRule(clusterScope, r, `cluster.fw rule ${i + 1}`)));
    if (ipsets.management !== undefined) {
      for (const dport of ['8006', '5900:5999', '3128', '22', '60000:60050']) {
        hostRules.push({ direction: 'in', action: 'ACCEPT', enabled: true, proto: 'tcp', dport, source: '+management', comment: 'management (implicit)' });
      }
    }
  }

  const guests: FirewallGuestRuleset[] = [];
  for (const g of input.guests) {
    if (g.document === undefined) continue;
    const file = `${g.vmid}.fw`;
    const options = optionsOf(g.document);
    const guestIpsetEntries = ipsetsOf(g.document);
    const scope: Scope = { file, vmid: g.vmid, guestAliases: aliasesOf(g.document), guestIpsets: guestIpsetEntries, clusterAliases, clusterIpsets: clusterIpsetEntries };
    for (const [name, entries] of guestIpsetEntries) ipsets[`guest/${g.vmid}/${name}`] = ipsetEntries(scope, entries, `${file} ipset ${name}`);
    const macfilter = flag(options, 'macfilter', true);
    const ipfilter = flag(options, 'ipfilter', false);
    const nics: FirewallGuestNic[] = g.nics
      .filter((n) => n.firewall)
      .map((n) => {
        let allowed: string[] | undefined;
        if (ipfilter) {
          const own = ipsets[`guest/${g.vmid}/ipfilter-${n.key}`] ?? [];
          const linkLocal = n.mac !== undefined ? [macToLinkLocal(n.mac), '!fe80::/10'] : [];
          const ranges = ipsetRanges([...own, ...(n.ips ?? []), ...linkLocal], `${file} ipfilter-${n.key}`);
          allowed = [...ranges.v4, ...ranges.v6].map(rangeText);
        }
        return { iface: n.key, port: n.port, ...(macfilter && n.mac !== undefined ? { mac: n.mac } : {}), ...(allowed !== undefined ? { ipfilter: allowed } : {}) };
      });
    const rules = fwRules(g.document)
      .filter((r) => r.type !== 'forward')
      .flatMap((r, i) => convertRule(scope, r, `${file} rule ${i + 1}`));
    const logIn = logLevel(options, 'log_level_in');
    const logOut = logLevel(options, 'log_level_out');
    guests.push({
      vmid: g.vmid,
      enabled: flag(options, 'enable', false),
      ports: nics.map((n) => n.port),
      nics,
      rules,
      policyIn: policy(options, 'policy_in', 'DROP'),
      policyOut: policy(options, 'policy_out', 'ACCEPT'),
      ...(logIn !== undefined ? { logLevelIn: logIn } : {}),
      ...(logOut !== undefined ? { logLevelOut: logOut } : {}),
      dhcp: flag(options, 'dhcp', true),
      ndp: flag(options, 'ndp', true),
      radv: flag(options, 'radv', false),
    });
  }

  const hostLogIn = logLevel(hostOptions, 'log_level_in');
  const hostLogOut = logLevel(hostOptions, 'log_level_out');
  return {
    enabled,
    policyIn: hostEnabled ? policy(clusterOptions, 'policy_in', 'DROP') : 'ACCEPT',
    policyOut: hostEnabled ? policy(clusterOptions, 'policy_out', 'ACCEPT') : 'ACCEPT',
    hostRules,
    guests,
    groups,
    ipsets,
    aliases: {},
    ndp: flag(hostOptions, 'ndp', true),
    allowInvalid: flag(hostOptions, 'nf_conntrack_allow_invalid', false),
    ...(hostLogIn !== undefined ? { logLevelIn: hostLogIn } : {}),
    ...(hostLogOut !== undefined ? { logLevelOut: hostLogOut } : {}),
  };
}

/**
 * Checks of the values inside firewall rules, ipsets and aliases, as pve-firewall checks them:
 * addresses and address lists, ports and port lists, protocols, ICMP types, names. Each check
 * returns what is wrong as a sentence, or `undefined` when the value is good. No regular
 * expression here can backtrack: every pattern is a single character class run.
 *
 * @packageDocumentation
 */
import { isIP } from 'node:net';
import { parseAddressRange } from '../nft/addressRanges.js';
import { isSpace, trimWith } from './fwText.js';

/** Longest ipset name (pve-firewall's `$max_ipset_name_length`). */
export const FW_MAX_IPSET_NAME = 64;
/** Longest alias name. */
const FW_MAX_ALIAS_NAME = 64;
/** Longest security group name. */
export const FW_MAX_GROUP_NAME = 18;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]+$/;

/** True for a name of an ipset, alias or security group: a letter, then letters, digits, `-`, `_` (two characters at least). */
export function isFwName(name: string): boolean {
  return NAME_RE.test(name);
}

/** Protocols with ports (`-dport` / `-sport`), by name and number. */
const PROTOCOLS_WITH_PORTS = new Set(['udp', '17', 'udplite', '136', 'tcp', '6', 'dccp', '33', 'sctp', '132']);

/** Protocol names of Debian's `/etc/protocols` (netbase), plus `icmpv6` as pve-firewall adds it. */
const PROTOCOL_NAMES = new Set(
  (
    'ip hopopt icmp igmp ggp ipencap st tcp egp igp pup udp hmp xns-idp rdp iso-tp4 dccp xtp ddp idpr-cmtp ipv6 ipv6-route ' +
    'ipv6-frag idrp rsvp gre esp ah skip ipv6-icmp ipv6-nonxt ipv6-opts rspf vmtp eigrp ospf ax.25 ipip etherip encap pim ' +
    'ipcomp vrrp l2tp isis sctp fc mobility-header udplite mpls-in-ip manet hip shim6 wesp rohc ethernet mptcp icmpv6'
  ).split(' '),
);

/** ICMP type names (`iptables -p icmp -h`), as pve-firewall lists them. */
const FW_ICMP_TYPES: ReadonlySet<string> = new Set(
  (
    'any echo-reply destination-unreachable network-unreachable host-unreachable protocol-unreachable port-unreachable ' +
    'fragmentation-needed source-route-failed network-unknown host-unknown network-prohibited host-prohibited ' +
    'TOS-network-unreachable TOS-host-unreachable communication-prohibited host-precedence-violation precedence-cutoff ' +
    'source-quench redirect network-redirect host-redirect TOS-network-redirect TOS-host-redirect echo-request ' +
    'router-advertisement router-solicitation time-exceeded ttl-zero-during-transit ttl-zero-during-reassembly ' +
    'parameter-problem ip-header-bad required-option-missing timestamp-request timestamp-reply address-mask-request address-mask-reply'
  ).split(' '),
);

/** ICMPv6 type names (`ip6tables -p icmpv6 -h`), as pve-firewall lists them. */
const FW_ICMPV6_TYPES: ReadonlySet<string> = new Set(
  (
    'destination-unreachable no-route communication-prohibited beyond-scope address-unreachable port-unreachable ' +
    'failed-policy reject-route packet-too-big time-exceeded ttl-zero-during-transit ttl-zero-during-reassembly ' +
    'parameter-problem bad-header unknown-header-type unknown-option echo-request echo-reply router-solicitation ' +
    'router-advertisement neighbor-solicitation neighbour-solicitation neighbor-advertisement neighbour-advertisement redirect'
  ).split(' '),
);

/** Ethernet protocol names of Debian's `/etc/ethertypes` (for the guest option `layer2_protocols`). */
const ETHERTYPE_NAMES = new Set(
  (
    'IPv4 X25 ARP FR_ARP BPQ TRILL L2-IS-IS TEB RAW_FR RARP ATALK AARP 802_1Q IPX NetBEUI IPv6 PPP MPLS MPLS_MULTI ATMMPOA ' +
    'PPP_DISC PPP_SES ATMFATE EAPOL S-TAG EAP_PREAUTH LLDP MACSEC PBB MVRP PTP FCOE FIP ROCE LoWPAN'
  ).split(' '),
);

/** Conntrack helpers pve-firewall can enable (`nf_conntrack_helpers`). */
const FW_CONNTRACK_HELPERS: ReadonlySet<string> = new Set(['amanda', 'ftp', 'irc', 'netbios-ns', 'pptp', 'sane', 'sip', 'snmp', 'tftp']);

const DIGITS_RE = /^[0-9]+$/;
const SERVICE_RE = /^[A-Za-z][A-Za-z0-9_.+-]*$/;

/** True for ICMP protocols (`icmp`, `icmpv6`, `ipv6-icmp`). */
export function isIcmpProto(proto: string): boolean {
  return proto === 'icmp' || proto === 'icmpv6' || proto === 'ipv6-icmp';
}

/** True when `-dport` / `-sport` may be given with `proto`. */
export function protoHasPorts(proto: string): boolean {
  return PROTOCOLS_WITH_PORTS.has(proto);
}

/** A protocol: a name of `/etc/protocols` (or `icmpv6`) or a number 0..255. */
export function checkProto(proto: string): string | undefined {
  if (PROTOCOL_NAMES.has(proto)) return undefined;
  if (DIGITS_RE.test(proto) && proto.length <= 3 && Number(proto) <= 255) return undefined;
  return `unknown protocol '${proto}'`;
}

/**
 * A port list: ports (0..65535), ranges `a:b` (a ≤ b) and service names, comma separated, at
 * most 15 numbers (a range counts two). With `icmp`, an ICMP type name may stand alone in a
 * `-dport` (as older Proxmox versions stored ICMP types).
 */
export function checkPorts(text: string, icmp: boolean): string | undefined {
  const items = text.split(',');
  if (items.some((i) => i === '')) return `extraneous commas in port list '${text}'`;
  let count = 0;
  let icmpName = false;
  for (const item of items) {
    const colon = item.indexOf(':');
    if (colon >= 0) {
      const a = item.slice(0, colon);
      const b = item.slice(colon + 1);
      if (!DIGITS_RE.test(a) || !DIGITS_RE.test(b)) return `invalid port range '${item}'`;
      if (a.length > 5 || Number(a) > 65535) return `invalid port '${a}' (0 to 65535)`;
      if (b.length > 5 || Number(b) > 65535) return `invalid port '${b}' (0 to 65535)`;
      if (Number(a) > Number(b)) return `backwards port range '${item}'`;
      count += 2;
    } else if (DIGITS_RE.test(item)) {
      if (item.length > 5 || Number(item) > 65535) return `invalid port '${item}' (0 to 65535)`;
      count += 1;
    } else if (icmp && (FW_ICMP_TYPES.has(item) || FW_ICMPV6_TYPES.has(item))) {
      icmpName = true;
    } else if (!SERVICE_RE.test(item)) {
      return `invalid port '${item}'`;
    }
  }
  if (icmpName && count > 0) return `ICMP types cannot be mixed with ports in '${text}'`;
  if (count > 15) return `too many entries in port list '${text}' (more than 15 numbers)`;
  return undefined;
}

/** An ICMP type name for `proto` (`icmp`: the ICMP names; `icmpv6` / `ipv6-icmp`: the ICMPv6 names). */
export function checkIcmpType(type: string, proto: string): string | undefined {
  const names = proto === 'icmp' ? FW_ICMP_TYPES : FW_ICMPV6_TYPES;
  return names.has(type) ? undefined : `invalid icmp-type '${type}' for proto '${proto}'`;
}

/** What an address field (`-source`, `-dest`) refers to. */
export type FwAddressSpec =
  | { readonly type: 'ipset'; readonly scope?: 'dc' | 'guest' | 'sdn'; readonly name: string }
  | { readonly type: 'alias'; readonly scope?: 'dc' | 'guest'; readonly name: string }
  | { readonly type: 'list'; readonly family: 4 | 6 };

function splitScope(text: string, scopes: readonly string[]): { scope?: string; name: string } {
  const slash = text.indexOf('/');
  if (slash > 0 && scopes.includes(text.slice(0, slash))) return { scope: text.slice(0, slash), name: text.slice(slash + 1) };
  return { name: text };
}

/**
 * Reads an address field: `+ipset` (scope `dc/`, `guest/`, `sdn/`), an alias (scope `dc/`,
 * `guest/`), or addresses / CIDRs (host bits refused) of one family, comma separated, or one
 * `a-b` range. Returns what is wrong as a string.
 */
export function parseAddressSpec(text: string): FwAddressSpec | string {
  if (text.startsWith('+')) {
    if (text.length > FW_MAX_IPSET_NAME + 1) return `ipset name too long in '${text}'`;
    const { scope, name } = splitScope(text.slice(1), ['dc', 'guest', 'sdn']);
    if (!isFwName(name)) return `invalid ipset name '${text}'`;
    return { type: 'ipset', name, ...(scope ? { scope: scope as 'dc' | 'guest' | 'sdn' } : {}) };
  }
  const { scope, name } = splitScope(text, ['dc', 'guest']);
  if (isFwName(name)) {
    if (text.length > FW_MAX_ALIAS_NAME) return `alias name too long in '${text}'`;
    return { type: 'alias', name, ...(scope ? { scope: scope as 'dc' | 'guest' } : {}) };
  }
  const items = text.split(',');
  if (items.some((i) => i === '')) return `extraneous commas in address list '${text}'`;
  let family: 4 | 6 | undefined;
  for (const item of items) {
    let parsed;
    try {
      parsed = parseAddressRange(item, 'address');
    } catch {
      return `invalid IP address, CIDR or range '${item}'`;
    }
    if (item.includes('-') && items.length > 1) return `a range cannot be part of a list ('${text}')`;
    if (family !== undefined && parsed.family !== family) return `mixed IPv4 and IPv6 addresses in '${text}'`;
    family = parsed.family;
  }
  return { type: 'list', family: family! };
}

/**
 * An ipset entry or alias value: an IPv4 or IPv6 address with an optional prefix length
 * (0..32 / 0..128). Returns the IP version, or what is wrong as a string.
 */
export function parseIpOrCidr(text: string): 4 | 6 | string {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) return `'${text}' is not an IP address or CIDR`;
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    if (!DIGITS_RE.test(len) || len.length > 3 || Number(len) > (family === 4 ? 32 : 128)) return `'${text}' has a bad prefix length`;
  }
  return family as 4 | 6;
}

/**
 * An interface name of a rule's `-i`: `net<N>` in guest files; elsewhere a name as
 * pve-common's `pve_verify_iface` takes it (a letter, 1 to 20 letters, digits or `_`, an
 * optional `.N` or `:N`).
 */
export function checkIface(iface: string, guest: boolean): string | undefined {
  if (guest) return /^net[0-9]{1,3}$/.test(iface) ? undefined : `interface '${iface}' must be net<N> in a guest's rules`;
  return /^[A-Za-z][A-Za-z0-9_]{1,20}(?:[.:][0-9]{1,9})?$/.test(iface) ? undefined : `invalid interface name '${iface}'`;
}

/** A `layer2_protocols` value: ethernet protocol names of `/etc/ethertypes`, comma separated. */
export function checkEthertypes(text: string): string | undefined {
  for (const item of text.split(',').map((i) => trimWith(i, isSpace))) {
    if (!ETHERTYPE_NAMES.has(item)) return `unknown ethernet protocol type '${item}'`;
  }
  return undefined;
}

/** An `nf_conntrack_helpers` value: helper names, comma separated. */
export function checkConntrackHelpers(text: string): string | undefined {
  const items = text.split(',');
  if (items.some((i) => i === '')) return `extraneous commas in '${text}'`;
  for (const item of items) if (!FW_CONNTRACK_HELPERS.has(item)) return `unknown conntrack helper '${item}'`;
  return undefined;
}

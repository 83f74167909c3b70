/**
 * Proxmox's firewall macros (`SSH(ACCEPT)`): each macro's name as Proxmox spells it and the
 * rules it expands to (protocol and ports; the rule's own action, addresses, interface and log
 * level are carried into every expanded rule). The table follows `$pve_fw_macros` and
 * `$pve_ipv6fw_macros` of pve-firewall's `PVE/Firewall.pm` (84 macros, plus the IPv6-only
 * `DHCPv6` and `NeighborDiscovery`; `Ping` and `Trcrt` expand differently for IPv6).
 *
 * @packageDocumentation
 */
import type { FwRule } from './fwDocument.js';
import { isIcmpProto } from './fwValues.js';

/** One rule a macro expands to. `dport` holds an ICMP type name where `proto` is ICMP (as Proxmox stores it). */
export interface FwMacroRule {
  readonly proto: string;
  readonly dport?: string;
  readonly sport?: string;
}

/** One macro of the table. */
export interface FwMacro {
  /** The name as Proxmox spells it; `.fw` files may use any case (`ssh(ACCEPT)`). */
  readonly name: string;
  /** Set when the macro applies to one IP version only; a rule of the other version expands to nothing. */
  readonly ipVersion?: 4 | 6;
  /** The expansion (IPv4, or both versions unless `rulesIpv6` is set). */
  readonly rules: readonly FwMacroRule[];
  /** The expansion for IPv6 rules where it differs from `rules`. */
  readonly rulesIpv6?: readonly FwMacroRule[];
}

/** Every macro Proxmox knows, sorted by name (case-insensitively). */
export const FW_MACROS: readonly FwMacro[] = [
  { name: 'Amanda', rules: [{ proto: 'udp', dport: '10080' }, { proto: 'tcp', dport: '10080' }] },
  { name: 'Auth', rules: [{ proto: 'tcp', dport: '113' }] },
  { name: 'BGP', rules: [{ proto: 'tcp', dport: '179' }] },
  { name: 'BitTorrent', rules: [{ proto: 'tcp', dport: '6881:6889' }, { proto: 'udp', dport: '6881' }] },
  { name: 'BitTorrent32', rules: [{ proto: 'tcp', dport: '6881:6999' }, { proto: 'udp', dport: '6881' }] },
  { name: 'Ceph', rules: [{ proto: 'tcp', dport: '6789' }, { proto: 'tcp', dport: '3300' }, { proto: 'tcp', dport: '6800:7300' }] },
  { name: 'Citrix', rules: [{ proto: 'tcp', dport: '1494' }, { proto: 'udp', dport: '1604' }, { proto: 'tcp', dport: '2598' }] },
  { name: 'CVS', rules: [{ proto: 'tcp', dport: '2401' }] },
  { name: 'DAAP', rules: [{ proto: 'tcp', dport: '3689' }, { proto: 'udp', dport: '3689' }] },
  { name: 'DCC', rules: [{ proto: 'tcp', dport: '6277' }] },
  { name: 'DHCPfwd', rules: [{ proto: 'udp', dport: '67:68', sport: '67:68' }] },
  { name: 'DHCPv6', ipVersion: 6, rules: [{ proto: 'udp', dport: '546:547', sport: '546:547' }] },
  { name: 'Distcc', rules: [{ proto: 'tcp', dport: '3632' }] },
  { name: 'DNS', rules: [{ proto: 'udp', dport: '53' }, { proto: 'tcp', dport: '53' }] },
  { name: 'Finger', rules: [{ proto: 'tcp', dport: '79' }] },
  { name: 'FTP', rules: [{ proto: 'tcp', dport: '21' }] },
  { name: 'Git', rules: [{ proto: 'tcp', dport: '9418' }] },
  { name: 'GNUnet', rules: [{ proto: 'tcp', dport: '2086' }, { proto: 'udp', dport: '2086' }, { proto: 'tcp', dport: '1080' }, { proto: 'udp', dport: '1080' }] },
  { name: 'GRE', rules: [{ proto: '47' }] },
  { name: 'HKP', rules: [{ proto: 'tcp', dport: '11371' }] },
  { name: 'HTTP', rules: [{ proto: 'tcp', dport: '80' }] },
  { name: 'HTTPS', rules: [{ proto: 'tcp', dport: '443' }] },
  { name: 'ICPV2', rules: [{ proto: 'udp', dport: '3130' }] },
  { name: 'ICQ', rules: [{ proto: 'tcp', dport: '5190' }] },
  { name: 'IMAP', rules: [{ proto: 'tcp', dport: '143' }] },
  { name: 'IMAPS', rules: [{ proto: 'tcp', dport: '993' }] },
  { name: 'IPIP', rules: [{ proto: '94' }] },
  { name: 'IPsec', rules: [{ proto: 'udp', dport: '500', sport: '500' }, { proto: '50' }] },
  { name: 'IPsecah', rules: [{ proto: 'udp', dport: '500', sport: '500' }, { proto: '51' }] },
  { name: 'IPsecnat', rules: [{ proto: 'udp', dport: '500' }, { proto: 'udp', dport: '4500' }, { proto: '50' }] },
  { name: 'IRC', rules: [{ proto: 'tcp', dport: '6667' }] },
  { name: 'Jetdirect', rules: [{ proto: 'tcp', dport: '9100' }] },
  { name: 'L2TP', rules: [{ proto: 'udp', dport: '1701' }] },
  { name: 'LDAP', rules: [{ proto: 'tcp', dport: '389' }] },
  { name: 'LDAPS', rules: [{ proto: 'tcp', dport: '636' }] },
  { name: 'Mail', rules: [{ proto: 'tcp', dport: '25' }, { proto: 'tcp', dport: '465' }, { proto: 'tcp', dport: '587' }] },
  { name: 'MDNS', rules: [{ proto: 'udp', dport: '5353' }] },
  { name: 'MSNP', rules: [{ proto: 'tcp', dport: '1863' }] },
  { name: 'MSSQL', rules: [{ proto: 'tcp', dport: '1433' }] },
  { name: 'Munin', rules: [{ proto: 'tcp', dport: '4949' }] },
  { name: 'MySQL', rules: [{ proto: 'tcp', dport: '3306' }] },
  { name: 'NeighborDiscovery', ipVersion: 6, rules: [{ proto: 'icmpv6', dport: 'router-solicitation' }, { proto: 'icmpv6', dport: 'router-advertisement' }, { proto: 'icmpv6', dport: 'neighbor-solicitation' }, { proto: 'icmpv6', dport: 'neighbor-advertisement' }] },
  { name: 'NNTP', rules: [{ proto: 'tcp', dport: '119' }] },
  { name: 'NNTPS', rules: [{ proto: 'tcp', dport: '563' }] },
  { name: 'NTP', rules: [{ proto: 'udp', dport: '123' }] },
  { name: 'OpenVPN', rules: [{ proto: 'udp', dport: '1194' }] },
  { name: 'OSPF', rules: [{ proto: '89' }] },
  { name: 'PCA', rules: [{ proto: 'udp', dport: '5632' }, { proto: 'tcp', dport: '5631' }] },
  { name: 'Ping', rules: [{ proto: 'icmp', dport: 'echo-request' }], rulesIpv6: [{ proto: 'icmpv6', dport: 'echo-request' }] },
  { name: 'PMG', rules: [{ proto: 'tcp', dport: '8006' }] },
  { name: 'POP3', rules: [{ proto: 'tcp', dport: '110' }] },
  { name: 'POP3S', rules: [{ proto: 'tcp', dport: '995' }] },
  { name: 'PostgreSQL', rules: [{ proto: 'tcp', dport: '5432' }] },
  { name: 'PPtP', rules: [{ proto: '47' }, { proto: 'tcp', dport: '1723' }] },
  { name: 'Printer', rules: [{ proto: 'tcp', dport: '515' }] },
  { name: 'Razor', rules: [{ proto: 'tcp', dport: '2703' }] },
  { name: 'Rdate', rules: [{ proto: 'tcp', dport: '37' }] },
  { name: 'RDP', rules: [{ proto: 'tcp', dport: '3389' }] },
  { name: 'RIP', rules: [{ proto: 'udp', dport: '520' }] },
  { name: 'RNDC', rules: [{ proto: 'tcp', dport: '953' }] },
  { name: 'Rsync', rules: [{ proto: 'tcp', dport: '873' }] },
  { name: 'SANE', rules: [{ proto: 'tcp', dport: '6566' }] },
  { name: 'SixXS', rules: [{ proto: 'tcp', dport: '3874' }, { proto: 'udp', dport: '3740' }, { proto: '41' }, { proto: 'udp', dport: '5072,8374' }] },
  { name: 'SMB', rules: [{ proto: 'udp', dport: '135,445' }, { proto: 'udp', dport: '137:139' }, { proto: 'udp', dport: '1024:65535', sport: '137' }, { proto: 'tcp', dport: '135,139,445' }] },
  { name: 'SMBswat', rules: [{ proto: 'tcp', dport: '901' }] },
  { name: 'SMTP', rules: [{ proto: 'tcp', dport: '25' }] },
  { name: 'SMTPS', rules: [{ proto: 'tcp', dport: '465' }] },
  { name: 'SNMP', rules: [{ proto: 'udp', dport: '161:162' }, { proto: 'tcp', dport: '161' }] },
  { name: 'SPAMD', rules: [{ proto: 'tcp', dport: '783' }] },
  { name: 'SPICEproxy', rules: [{ proto: 'tcp', dport: '3128' }] },
  { name: 'Squid', rules: [{ proto: 'tcp', dport: '3128' }] },
  { name: 'SSH', rules: [{ proto: 'tcp', dport: '22' }] },
  { name: 'Submission', rules: [{ proto: 'tcp', dport: '587' }] },
  { name: 'SVN', rules: [{ proto: 'tcp', dport: '3690' }] },
  { name: 'Syslog', rules: [{ proto: 'udp', dport: '514' }, { proto: 'tcp', dport: '514' }] },
  { name: 'Telnet', rules: [{ proto: 'tcp', dport: '23' }] },
  { name: 'Telnets', rules: [{ proto: 'tcp', dport: '992' }] },
  { name: 'TFTP', rules: [{ proto: 'udp', dport: '69' }] },
  { name: 'Time', rules: [{ proto: 'tcp', dport: '37' }] },
  { name: 'Trcrt', rules: [{ proto: 'udp', dport: '33434:33524' }, { proto: 'icmp', dport: 'echo-request' }], rulesIpv6: [{ proto: 'udp', dport: '33434:33524' }, { proto: 'icmpv6', dport: 'echo-request' }] },
  { name: 'VNC', rules: [{ proto: 'tcp', dport: '5900:5999' }] },
  { name: 'VNCL', rules: [{ proto: 'tcp', dport: '5500' }] },
  { name: 'Web', rules: [{ proto: 'tcp', dport: '80' }, { proto: 'tcp', dport: '443' }] },
  { name: 'Webcache', rules: [{ proto: 'tcp', dport: '8080' }] },
  { name: 'Webmin', rules: [{ proto: 'tcp', dport: '10000' }] },
  { name: 'Whois', rules: [{ proto: 'tcp', dport: '43' }] },
];

const BY_LOWER_NAME = new Map(FW_MACROS.map((m) => [m.name.toLowerCase(), m]));

/** The macro named `name` in any case (`ssh` finds `SSH`), or undefined. */
export function findFwMacro(name: string): FwMacro | undefined {
  return BY_LOWER_NAME.get(name.toLowerCase());
}

/**
 * The rules a macro rule stands for, as pve-firewall expands it: one rule per line of the
 * macro, each with the macro's protocol and ports and the rule's other fields (action,
 * addresses, interface, log level, comment); a port or protocol the rule gives itself is kept
 * when the macro leaves it open. An ICMP type the macro keeps in `dport` comes out as
 * `icmpType`. `ipVersion` is the rule's IP version when its addresses or protocol tell it: a
 * macro of the other version expands to nothing, and an IPv6 rule gets the macro's IPv6 lines.
 * A rule without a macro is returned as it is.
 *
 * @throws Error (a plain message, for the parser to place) when the macro is unknown or the
 *   rule gives a protocol or port that contradicts the macro's (`SSH(ACCEPT) -dport 23`).
 */
export function expandFwMacro(rule: FwRule, ipVersion?: 4 | 6): FwRule[] {
  if (rule.macro === undefined) return [rule];
  const macro = findFwMacro(rule.macro);
  if (!macro) throw new Error(`unknown macro '${rule.macro}'`);
  if (ipVersion !== undefined && macro.ipVersion !== undefined && macro.ipVersion !== ipVersion) return [];
  const lines = ipVersion === 6 && macro.rulesIpv6 ? macro.rulesIpv6 : macro.rules;
  const { macro: _macro, ...base } = rule;
  return lines.map((line) => {
    const out: { -readonly [K in keyof FwRule]: FwRule[K] } = { ...base };
    for (const key of ['proto', 'dport', 'sport'] as const) {
      const fixed = line[key];
      if (fixed === undefined) continue;
      const given = rule[key];
      if (given !== undefined && given !== fixed) throw new Error(`parameter '${key}' is already set by macro ${macro.name} (to '${fixed}'), not '${given}'`);
      out[key] = fixed;
    }
    if (out.proto !== undefined && isIcmpProto(out.proto) && line.dport !== undefined && !/^[0-9]/.test(line.dport)) {
      out.icmpType = line.dport;
      delete out.dport;
    }
    return out;
  });
}

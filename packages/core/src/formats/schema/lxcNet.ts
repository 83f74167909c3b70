/**
 * Container network interfaces, `netN` (N 0..31), as pve-container's `$netconf_desc`
 * defines them:
 *
 * ```text
 * net0: name=eth0,bridge=vmbr0,firewall=1,hwaddr=BC:24:11:5E:6F:70,ip=dhcp,type=veth
 * ```
 *
 * @packageDocumentation
 */
import { Type, type Static } from '@sinclair/typebox';
import { isIPv4, isIPv6 } from 'node:net';
import { BridgeName, Flag, MacAddress, VlanTag } from './commonFields.js';
import { Enum, Int, Num, Str, definePropertyString } from './valueSchema.js';

const opt = Type.Optional;

/** The container `netN` format. */
export const lxcNetFormat = definePropertyString({
  name: 'lxc net',
  properties: {
    name: Str({ pattern: '[-_.\\w]+', maxLength: 15, pveMessage: "is not a valid interface name (letters, digits, '-', '_', '.', at most 15 characters)" }),
    type: opt(Enum(['veth'])),
    bridge: opt(BridgeName()),
    hwaddr: opt(MacAddress()),
    mtu: opt(Int({ minimum: 64, maximum: 65535 })),
    ip: opt(Str({ pveFormat: 'ipv4-config' })),
    gw: opt(Str({ pveFormat: 'ipv4' })),
    ip6: opt(Str({ pveFormat: 'ipv6-config' })),
    gw6: opt(Str({ pveFormat: 'ipv6' })),
    firewall: Flag(),
    tag: opt(VlanTag()),
    trunks: opt(Str({ pattern: '\\d+(?:;\\d+)*', pveMessage: "must be VLAN ids separated by ';'" })),
    rate: opt(Num({ minimum: 0 })),
    link_down: Flag(),
  },
  refine: (n) => {
    if (n.gw !== undefined && !isIPv4(n.gw)) return 'gw is not an IPv4 address';
    if (n.gw6 !== undefined && !isIPv6(n.gw6)) return 'gw6 is not an IPv6 address';
    return undefined;
  },
});

/**
 * A parsed container network interface: `name` inside the container, `bridge`, `hwaddr`,
 * `ip` (CIDR, `dhcp` or `manual`), `gw`, `ip6` (CIDR, `auto`, `dhcp`, `manual`), `gw6`, `tag`,
 * `trunks`, `rate` (MB/s), `mtu`, `firewall`, `link_down`, `type` (always `veth`).
 */
export type LxcNet = Static<(typeof lxcNetFormat)['schema']>;

/** Options of {@link parseLxcNet} / {@link printLxcNet}. */
export interface LxcNetOptions {
  /** The config key (`net0`...), named in errors. Default `lxc net`. */
  readonly key?: string;
}

/**
 * Parses a container `netN` value.
 *
 * @throws InvalidConfigError naming the key and value for a missing `name`, an unknown field, a
 *   bad MAC address, bridge name, IP configuration, VLAN tag...
 */
export function parseLxcNet(value: string, options: LxcNetOptions = {}): LxcNet {
  return lxcNetFormat.parse(value, options.key ?? 'lxc net');
}

/**
 * Prints a container network interface as pve-container writes it: `name=` first (the one
 * required field), then the other fields sorted.
 *
 * @throws InvalidConfigError for an invalid field value.
 */
export function printLxcNet(net: LxcNet, options: LxcNetOptions = {}): string {
  return lxcNetFormat.print(net, options.key ?? 'lxc net');
}

/**
 * The devices an SDN zone wants on a node, as zone drivers compute them and
 * {@link applyDevices} realises them.
 *
 * @packageDocumentation
 */

/** One device a zone wants. Every device SDN creates carries the alias {@link sdnAlias}. */
export interface DeviceSpec {
  readonly name: string;
  readonly kind: 'bridge' | 'vxlan' | 'veth' | 'vlan';
  /** The zone that owns it. */
  readonly zone: string;
  /** MTU; undefined: the kernel's default (a bridge follows its ports). */
  readonly mtu?: number;
  /** The bridge it is a port of. */
  readonly master?: string;
  /** MAC address (Proxmox's vnet `mac` / `hwaddress`). */
  readonly mac?: string;
  /** For `vxlan`: VNI and UDP port. */
  readonly vxlan?: { readonly id: number; readonly port: number };
  /** For `vxlan`: remote VTEP addresses (head-end replication entries in the fdb). */
  readonly remotes?: readonly string[];
  /** For `veth`: the peer's name (the pair is created once, from the end listed first). */
  readonly peer?: string;
  /** For `vlan`: the parent device, VLAN id and protocol (`802.1Q` or `802.1ad`). */
  readonly vlan?: { readonly link: string; readonly id: number; readonly protocol: '802.1Q' | '802.1ad' };
  /** Global addresses in CIDR notation (a simple zone's subnet gateways). */
  readonly addresses?: readonly string[];
  /** Forward IPv4 packets that come in on this device (ifupdown2's `ip-forward on`). */
  readonly forward?: boolean;
  /** Source NAT for traffic leaving the node from a subnet of this device (Proxmox's `snat`). */
  readonly snat?: readonly SnatRule[];
}

/**
 * One SNAT rule as Proxmox's simple zone writes it (`iptables -t nat -A POSTROUTING -s <cidr>
 * -o <outIf> -j SNAT --to-source <toSource>`); Corral puts it in the nftables table
 * `ip corral_sdn` (`ip6` for IPv6).
 */
export interface SnatRule {
  readonly family: 4 | 6;
  /** The subnet (`10.0.0.0/24`). */
  readonly source: string;
  /** The device the node's default route leaves through. */
  readonly outIf: string;
  /** The node's address on it. */
  readonly toSource: string;
}

/** The alias that marks a device as created by SDN for `zone` (`corral-sdn:<zone>`). */
export function sdnAlias(zone: string): string {
  return `corral-sdn:${zone}`;
}

/** The zone an alias marks, or undefined for a device SDN does not own. */
export function zoneOfAlias(alias: string | undefined): string | undefined {
  return alias?.startsWith('corral-sdn:') ? alias.slice('corral-sdn:'.length) : undefined;
}

/**
 * Proxmox's `vxlan` zone (`VxlanPlugin.pm`): per vnet a VXLAN device `vxlan_<vnet>` with
 * VNI = the vnet's `tag` and UDP port `vxlan-port` (default 4789), one head-end replication
 * entry per peer that is not an address of this node (`bridge fdb append 00:00:00:00:00:00
 * dev vxlan_<vnet> dst <peer>`, ifupdown2's `vxlan_remoteip`), as the only port of the bridge
 * `<vnet>`. MTU: the zone's `mtu`, else the MTU of the device holding this node's peer
 * address minus 50, else 1450.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, NotSupportedError, splitList, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import type { DeviceSpec } from '../deviceSpec.js';
import type { NodeLinks } from '../linkState.js';
import { checkZoneBasics, DeviceZoneDriver, intOption } from './deviceZoneDriver.js';

/** The VXLAN UDP port Proxmox uses when the zone sets none. */
export const DEFAULT_VXLAN_PORT = 4789;
/** VXLAN overhead Proxmox subtracts from the underlay MTU (and its default vnet MTU, 1500 - 50). */
const VXLAN_OVERHEAD = 50;

/** Zone type `vxlan`. */
export class VxlanZoneDriver extends DeviceZoneDriver {
  readonly type = 'vxlan';

  /**
   * @throws InvalidConfigError: neither or both of `peers` / `fabric`, a vnet without `tag` or
   *   with a tag above 16777215, two vnets with the same tag, a bad `mtu` or `vxlan-port`.
   */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
    checkZoneBasics(zone, vnets, { 'vxlan-port': [1, 65535] });
    const { peers, fabric } = zone.options;
    if ((peers === undefined) === (fabric === undefined)) {
      throw new InvalidConfigError('peers', peers, `zone '${zone.id}': must have exactly one of peers / fabric defined`);
    }
    const tags = new Map<number, string>();
    for (const vnet of vnets) {
      if (vnet.tag === undefined) throw new InvalidConfigError('tag', undefined, `vnet '${vnet.id}': missing vxlan tag`);
      if (!Number.isInteger(vnet.tag) || vnet.tag < 1 || vnet.tag > 16777215) throw new InvalidConfigError('tag', vnet.tag, `vnet '${vnet.id}': vxlan tag must be 1 to 16777215`);
      const other = tags.get(vnet.tag);
      if (other) throw new InvalidConfigError('tag', vnet.tag, `vnet '${vnet.id}': vxlan tag ${vnet.tag} already exists in vnet ${other}`);
      tags.set(vnet.tag, vnet.id);
    }
  }

  /** @throws NotSupportedError (operation `fabric`) for a zone on an SDN fabric (Corral runs no fabric). */
  async plan(_ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], links: NodeLinks): Promise<DeviceSpec[]> {
    if (zone.options.fabric !== undefined) throw new NotSupportedError('fabric', `zone '${zone.id}': VXLAN over an SDN fabric needs Proxmox's fabric daemons (FRR), which Corral does not run; list the nodes in 'peers'`);
    const peers = splitList(zone.options.peers ?? '');
    const addressOf = (cidr: string) => cidr.slice(0, cidr.lastIndexOf('/'));
    // Proxmox's find_local_ip_interface_peers: the first peer that is an address of this node.
    const localIp = peers.find((p) => [...links.values()].some((l) => l.addresses.some((a) => addressOf(a) === p)));
    const local = localIp === undefined ? undefined : [...links.values()].find((l) => l.addresses.some((a) => addressOf(a) === localIp));
    const mtu = intOption(zone, 'mtu', 68, 65535) ?? (local ? local.mtu - VXLAN_OVERHEAD : 1500 - VXLAN_OVERHEAD);
    const port = intOption(zone, 'vxlan-port', 1, 65535) ?? DEFAULT_VXLAN_PORT;
    const remotes = peers.filter((p) => p !== localIp);
    return vnets.flatMap((vnet): DeviceSpec[] => [
      { name: vnet.id, kind: 'bridge', zone: zone.id, mtu },
      { name: `vxlan_${vnet.id}`, kind: 'vxlan', zone: zone.id, mtu, master: vnet.id, vxlan: { id: vnet.tag!, port }, remotes },
    ]);
  }
}

/**
 * Proxmox's `vlan` zone (`VlanPlugin.pm`): each vnet is a bridge on VLAN `tag` of the zone's
 * `bridge`. On a VLAN-aware bridge the vnet's only port is the 802.1q device
 * `<bridge>.<tag>`; on a plain bridge Proxmox builds `<bridge>v<tag>` (a bridge of the
 * 802.1q devices `<port>.<tag>` of the bridge's physical ports) joined to the vnet by the veth
 * pair `ln_<vnet>` / `pr_<vnet>`.
 *
 * Both need 802.1q VLAN devices. The driver probes for them (a throw-away `type vlan` device
 * on the bridge) and refuses with `NotSupportedError` naming what is missing when the kernel
 * cannot make them.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, NotFoundError, NotSupportedError, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import type { DeviceSpec } from '../deviceSpec.js';
import type { NodeLinks } from '../linkState.js';
import { probeDeviceType } from '../probeDeviceType.js';
import { checkZoneBasics, DeviceZoneDriver, intOption } from './deviceZoneDriver.js';

/** Zone type `vlan`. */
export class VlanZoneDriver extends DeviceZoneDriver {
  readonly type = 'vlan';

  /** @throws InvalidConfigError: no `bridge`, a vnet without `tag` or above 4096, a tag two vnets share, a bad `mtu`. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
    checkZoneBasics(zone, vnets);
    if (!zone.options.bridge) throw new InvalidConfigError('bridge', undefined, `zone '${zone.id}': option 'bridge' is required`);
    const tags = new Map<number, string>();
    for (const vnet of vnets) {
      if (vnet.tag === undefined) throw new InvalidConfigError('tag', undefined, `vnet '${vnet.id}': missing vlan tag`);
      if (vnet.tag > 4096) throw new InvalidConfigError('tag', vnet.tag, `vnet '${vnet.id}': vlan tag max value is 4096`);
      const other = tags.get(vnet.tag);
      if (other) throw new InvalidConfigError('tag', vnet.tag, `vnet '${vnet.id}': tag ${vnet.tag} already exist in vnet ${other}`);
      tags.set(vnet.tag, vnet.id);
    }
  }

  /**
   * @throws NotFoundError (kind `bridge`) when the zone's bridge does not exist;
   *   NotSupportedError (operation `vlan`) when the kernel cannot make 802.1q devices.
   */
  async plan(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], links: NodeLinks): Promise<DeviceSpec[]> {
    const bridgeName = zone.options.bridge!;
    const bridge = links.get(bridgeName);
    if (bridge?.kind !== 'bridge') throw new NotFoundError('bridge', bridgeName, `zone '${zone.id}': can't find bridge ${bridgeName}`);
    const missing = await probeDeviceType(ctx, ['link', bridgeName], ['type', 'vlan', 'protocol', '802.1Q', 'id', '1']);
    if (missing !== undefined) {
      throw new NotSupportedError(
        'vlan',
        `zone '${zone.id}': a vlan zone needs 802.1q VLAN devices on bridge ${bridgeName} (kernel module 8021q), which this kernel cannot make: ${missing}`,
      );
    }
    const mtu = intOption(zone, 'mtu', 68, 65535);
    const withMtu = mtu === undefined ? {} : { mtu };
    const physicalPorts = [...links.values()].filter((l) => l.master === bridgeName && l.kind === undefined).map((l) => l.name);
    return vnets.flatMap((vnet): DeviceSpec[] => {
      const tag = vnet.tag!;
      const base = { zone: zone.id };
      const vnetBridge: DeviceSpec = { ...base, name: vnet.id, kind: 'bridge', ...withMtu };
      if (bridge.vlanFiltering) {
        return [vnetBridge, { ...base, name: `${bridgeName}.${tag}`, kind: 'vlan', vlan: { link: bridgeName, id: tag, protocol: '802.1Q' }, master: vnet.id, ...withMtu }];
      }
      const bridgeVlan = `${bridgeName}v${tag}`;
      const uplink = `ln_${vnet.id}`;
      const uplinkPeer = `pr_${vnet.id}`;
      return [
        vnetBridge,
        { ...base, name: bridgeVlan, kind: 'bridge', ...withMtu },
        ...physicalPorts.map((port): DeviceSpec => ({ ...base, name: `${port}.${tag}`, kind: 'vlan', vlan: { link: port, id: tag, protocol: '802.1Q' }, master: bridgeVlan })),
        { ...base, name: uplink, kind: 'veth', peer: uplinkPeer, master: vnet.id, ...withMtu },
        { ...base, name: uplinkPeer, kind: 'veth', peer: uplink, master: bridgeVlan, ...withMtu },
      ];
    });
  }
}

/**
 * Zone types Proxmox has that Corral refuses by name, after asking the kernel what it lacks:
 * `qinq` (802.1ad service VLANs on a bridge) and `evpn` (BGP EVPN through FRR, with vrf
 * devices). `validate` checks the options as Proxmox does; `plan` (and so `apply`) throws
 * `NotSupportedError` naming what is missing.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, NotSupportedError, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import type { DeviceSpec } from '../deviceSpec.js';
import type { NodeLinks } from '../linkState.js';
import { probeDeviceType } from '../probeDeviceType.js';
import { checkZoneBasics, DeviceZoneDriver, intOption } from './deviceZoneDriver.js';

/** Zone type `qinq`: refused (needs 802.1ad VLAN devices; Corral builds no qinq zone). */
export class QinqZoneDriver extends DeviceZoneDriver {
  readonly type = 'qinq';

  /** @throws InvalidConfigError: no `bridge`, a bad zone `tag` (service VLAN) or `mtu`. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
    checkZoneBasics(zone, vnets, { tag: [0, 4096] });
    if (!zone.options.bridge) throw new InvalidConfigError('bridge', undefined, `zone '${zone.id}': option 'bridge' is required`);
  }

  /** @throws NotSupportedError (operation `qinq`), naming 802.1ad when the kernel lacks it. */
  async plan(ctx: NetworkContext, zone: NetworkZoneDefinition, _vnets: readonly VnetDefinition[], links: NodeLinks): Promise<DeviceSpec[]> {
    const bridge = zone.options.bridge!;
    const protocol = zone.options['vlan-protocol'] === '802.1q' ? '802.1Q' : '802.1ad';
    const missing = links.get(bridge)
      ? await probeDeviceType(ctx, ['link', bridge], ['type', 'vlan', 'protocol', protocol, 'id', '1'])
      : `bridge ${bridge} does not exist`;
    throw new NotSupportedError(
      'qinq',
      missing === undefined
        ? `zone '${zone.id}': qinq zones are not implemented by Corral`
        : `zone '${zone.id}': a qinq zone needs ${protocol} VLAN devices (kernel module 8021q), which this kernel cannot make: ${missing}`,
    );
  }
}

/** Zone type `evpn`: refused (needs FRR's BGP EVPN controller and vrf devices). */
export class EvpnZoneDriver extends DeviceZoneDriver {
  readonly type = 'evpn';

  /** @throws InvalidConfigError: no `controller` or `vrf-vxlan` (Proxmox requires both), a bad `mtu` or `vxlan-port`. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
    checkZoneBasics(zone, vnets, { 'vxlan-port': [1, 65535], 'vrf-vxlan': [1, 16777215] });
    for (const key of ['controller', 'vrf-vxlan']) {
      if (!zone.options[key]) throw new InvalidConfigError(key, undefined, `zone '${zone.id}': option '${key}' is required`);
    }
  }

  /** @throws NotSupportedError (operation `evpn`), naming vrf devices when the kernel lacks them. */
  async plan(ctx: NetworkContext, zone: NetworkZoneDefinition): Promise<DeviceSpec[]> {
    const missing = await probeDeviceType(ctx, [], ['type', 'vrf', 'table', '4242']);
    throw new NotSupportedError(
      'evpn',
      `zone '${zone.id}': an evpn zone needs FRR's BGP EVPN controller, which Corral does not run` +
        (missing === undefined ? '' : `, and vrf devices, which this kernel cannot make: ${missing}`),
    );
  }
}

/**
 * Proxmox's `simple` zone: one bridge per vnet without ports; a subnet's gateway becomes an
 * address of the bridge (`address <gateway>/<prefix>`), as `SimplePlugin.pm` writes it.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import type { DeviceSpec } from '../deviceSpec.js';
import { formatIp, parseCidr, parseIp } from '../ipAddress.js';
import type { NodeLinks } from '../linkState.js';
import { checkZoneBasics, DeviceZoneDriver, intOption } from './deviceZoneDriver.js';

/** Zone type `simple`. */
export class SimpleZoneDriver extends DeviceZoneDriver {
  readonly type = 'simple';

  /** @throws InvalidConfigError for a vnet with a `tag` (Proxmox: "vlan tag is not allowed on simple zone"), a bad `mtu` or subnet. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
    checkZoneBasics(zone, vnets);
    for (const vnet of vnets) {
      if (vnet.tag !== undefined) throw new InvalidConfigError('tag', vnet.tag, `vnet '${vnet.id}': vlan tag is not allowed on simple zone '${zone.id}'`);
      for (const subnet of vnet.subnets ?? []) {
        if (!parseCidr(subnet.cidr)) throw new InvalidConfigError('subnet', subnet.cidr, `vnet '${vnet.id}': '${subnet.cidr}' is not a CIDR`);
      }
    }
  }

  async plan(_ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], _links: NodeLinks): Promise<DeviceSpec[]> {
    const mtu = intOption(zone, 'mtu', 68, 65535);
    return vnets.map((vnet) => {
      const addresses = [...new Set((vnet.subnets ?? []).filter((s) => s.gateway && parseIp(s.gateway)).map((s) => `${formatIp(parseIp(s.gateway!)!)}/${parseCidr(s.cidr)!.prefix}`))];
      return { name: vnet.id, kind: 'bridge', zone: zone.id, ...(mtu ? { mtu } : {}), ...(addresses.length > 0 ? { addresses } : {}) };
    });
  }
}

import { join } from 'node:path';
import { coreServices, definePlugin, extensionPoints, type NetworkZoneDriver } from '@corral/core';
import { DnsmasqDhcp } from './sdn/DnsmasqDhcp.js';
import { NodeSdn, sdnServiceRef } from './sdn/NodeSdn.js';
import { PveIpam } from './sdn/PveIpam.js';
import { SimpleZoneDriver } from './sdn/zones/simpleZone.js';
import { EvpnZoneDriver, QinqZoneDriver } from './sdn/zones/unsupportedZones.js';
import { VlanZoneDriver } from './sdn/zones/vlanZone.js';
import { VxlanZoneDriver } from './sdn/zones/vxlanZone.js';

/**
 * Plugin `network`: Linux bridges, the NIC plug path and Proxmox SDN zones.
 *
 * Registers the zone drivers (`extensionPoints.networkZones`), provides the node's SDN as
 * {@link sdnServiceRef} (config from the node's config store, `sdn/*.cfg`, read at every
 * use) and its NIC plug hook `sdn` (`extensionPoints.nicPlugHooks`): a NIC whose `bridge`
 * is a vnet is plugged into the vnet's bridge and gets its DHCP mapping. Without SDN files
 * nothing changes. The IPAM file (`pve-ipam-state.json`) is kept under
 * `<dataDir>/sdn-local/`, dnsmasq's files under `<runDir>/sdn/` and its leases under
 * `<dataDir>/sdn-local/leases/`.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [networkPlugin] });
 * await kernel.get(sdnServiceRef).apply();
 * ```
 */
export const networkPlugin = definePlugin({
  id: 'network',
  apiVersion: 3,
  register(env) {
    const drivers = new Map<string, NetworkZoneDriver>([
      ['simple', new SimpleZoneDriver()],
      ['vxlan', new VxlanZoneDriver()],
      ['vlan', new VlanZoneDriver()],
      // Refused by name with NotSupportedError naming what the kernel lacks.
      ['qinq', new QinqZoneDriver()],
      ['evpn', new EvpnZoneDriver()],
    ]);
    // SDN zone drivers (extensionPoints.networkZones), keyed by Proxmox zone type.
    for (const [type, driver] of drivers) env.extend(extensionPoints.networkZones, type, driver);
    const local = join(env.dataDir, 'sdn-local');
    const sdn = new NodeSdn({
      node: env.node,
      runner: env.get(coreServices.commandRunner),
      log: env.logger,
      store: env.get(coreServices.configStore),
      drivers,
      dhcp: {
        ipam: new PveIpam({ path: join(local, 'pve-ipam-state.json'), locks: env.get(coreServices.lockManager) }),
        server: new DnsmasqDhcp({ configRoot: join(env.runDir, 'sdn', 'dnsmasq'), leaseRoot: join(local, 'leases'), runDir: join(env.runDir, 'sdn') }),
      },
    });
    env.provide(sdnServiceRef, { value: sdn });
    env.extend(extensionPoints.nicPlugHooks, 'sdn', sdn.nicHook());
  },
});

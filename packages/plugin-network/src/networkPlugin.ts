import { definePlugin, extensionPoints } from '@corral/core';
import { SimpleZoneDriver } from './sdn/zones/simpleZone.js';
import { EvpnZoneDriver, QinqZoneDriver } from './sdn/zones/unsupportedZones.js';
import { VlanZoneDriver } from './sdn/zones/vlanZone.js';
import { VxlanZoneDriver } from './sdn/zones/vxlanZone.js';

/**
 * Plugin `network`: Linux bridges, the NIC plug path and Proxmox SDN zones.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [networkPlugin] });
 * ```
 */
export const networkPlugin = definePlugin({
  id: 'network',
  apiVersion: 3,
  register(env) {
    // SDN zone drivers (extensionPoints.networkZones), keyed by Proxmox zone type.
    env.extend(extensionPoints.networkZones, 'simple', new SimpleZoneDriver());
    env.extend(extensionPoints.networkZones, 'vxlan', new VxlanZoneDriver());
    env.extend(extensionPoints.networkZones, 'vlan', new VlanZoneDriver());
    // Refused by name with NotSupportedError naming what the kernel lacks.
    env.extend(extensionPoints.networkZones, 'qinq', new QinqZoneDriver());
    env.extend(extensionPoints.networkZones, 'evpn', new EvpnZoneDriver());
  },
});

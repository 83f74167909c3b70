/**
 * Proxmox SDN: the `sdn/*.cfg` files, zone drivers and the service that applies them on a node.
 *
 * @packageDocumentation
 */
export { applyDevices, creationArgvs, type ApplyDevicesResult } from './applyDevices.js';
export { sdnAlias, type DeviceSpec, type SnatRule } from './deviceSpec.js';
export { NAT_TABLE } from './natTable.js';
export { readLinks, readVxlanRemotes, type LinkState, type NodeLinks } from './linkState.js';
export {
  MAX_DHCP_RANGES,
  parseSubnetsCfg,
  parseVnetsCfg,
  parseZonesCfg,
  SDN_ZONE_TYPES,
  serializeSubnetsCfg,
  serializeVnetsCfg,
  serializeZonesCfg,
  type DhcpRange,
  type SdnConfig,
  type SdnSubnet,
} from './sdnConfigFiles.js';
export { readSdnConfig, SdnService, type ResolvedZone, type SdnServiceOptions } from './SdnService.js';
export { DeviceZoneDriver, isPlannedZoneDriver, type PlannedZoneDriver } from './zones/deviceZoneDriver.js';
export { SimpleZoneDriver } from './zones/simpleZone.js';
export { DEFAULT_VXLAN_PORT, VxlanZoneDriver } from './zones/vxlanZone.js';
export { VlanZoneDriver } from './zones/vlanZone.js';
export { EvpnZoneDriver, QinqZoneDriver } from './zones/unsupportedZones.js';
export { probeDeviceType } from './probeDeviceType.js';
export { PveIpam, MAX_IPAM_FILE_BYTES, type IpamDb, type IpamEntry, type IpamGuest, type PveIpamOptions } from './PveIpam.js';
export { DnsmasqDhcp, dnsmasqDefaultConf, dnsmasqEthers, dnsmasqVnetConf, type DnsmasqPaths } from './DnsmasqDhcp.js';
export { createSdnNicHook, type SdnNicHookOptions } from './sdnNicHook.js';
export { readSdnConfigFromStore, SDN_CONFIG_DIR } from './sdnConfigStore.js';
export { NodeSdn, sdnServiceRef, type NodeSdnCallOptions, type NodeSdnOptions } from './NodeSdn.js';

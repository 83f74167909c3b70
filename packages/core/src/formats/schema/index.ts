/**
 * Typed schemas of the guest config keys of VMs and containers (TypeBox), validation of
 * config entries, and typed parse / print helpers for the property-string keys plugins build
 * on (disks, networks, mount points).
 *
 * @packageDocumentation
 */
export {
  PveType,
  convertScalar,
  customKey,
  definePropertyString,
  printScalar,
  propertyKey,
  scalarKey,
  type ConfigKeySpec,
  type PropertyStringDefinition,
  type PropertyStringSpec,
  type PveSchemaOptions,
} from './valueSchema.js';
export { PVE_FORMATS, STORAGE_ID_RE, VOLUME_ID_RE, type PveFormat } from './pveFormats.js';
export { LXC_LOCKS, QEMU_LOCKS, SNAPSTATES, startupFormat } from './commonFields.js';
export {
  lookupKeySpec,
  type ConfigEntriesInput,
  type GuestKeyTable,
  type IndexedKeySpec,
  type SpecValue,
  type TableValues,
  type ValidateGuestConfigOptions,
} from './guestKeyTable.js';
export * from './qemuDrive.js';
export * from './qemuNet.js';
export * from './qemuOptions.js';
export * from './qemuConfig.js';
export * from './lxcNet.js';
export * from './lxcMountPoint.js';
export * from './lxcConfig.js';
export * from './validateGuestConfig.js';

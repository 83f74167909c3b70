/**
 * Typed schemas of the guest config keys of VMs and containers (TypeBox), validation of
 * config entries, and typed parse / print helpers for the property-string keys plugins build
 * on (disks, networks, mount points).
 *
 * @packageDocumentation
 */
export * from './valueSchema.js';
export * from './pveFormats.js';
export * from './commonFields.js';
export * from './guestKeyTable.js';
export * from './qemuDrive.js';
export * from './qemuNet.js';
export * from './qemuOptions.js';
export * from './qemuConfig.js';
export * from './lxcNet.js';
export * from './lxcMountPoint.js';
export * from './lxcConfig.js';
export * from './validateGuestConfig.js';

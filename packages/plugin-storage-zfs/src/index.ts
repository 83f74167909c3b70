/**
 * @corral/plugin-storage-zfs: Proxmox's `zfspool` storage type for Corral (zvols for VM
 * disks, filesystem datasets for container root filesystems).
 *
 * @packageDocumentation
 */
export { storageZfsPlugin } from './storageZfsPlugin.js';
export { ZfsStorageDriver, type ZfsStorageDriverOptions } from './ZfsStorageDriver.js';
export { ZFS_SPARSE_STORAGE_INFO, ZFS_STORAGE_INFO } from './zfsStorageInfo.js';
export { zfsOptionsSchema, zfsOptions, parseZfsBlocksize, type ZfsOptions } from './zfsOptions.js';
export { parseZfsVolname, zfsBaseName, zfsNamePrefix, isZfsVolumeName, type ZfsVolname } from './zfsVolname.js';
export { ZfsCommands, type ZfsGetOptions, type ZfsCreateFilesystemOptions, type ZfsCreateVolumeOptions } from './ZfsCommands.js';
export { parseZfsGet, zfsNumber, type ZfsProps } from './parseZfsGet.js';
export { mapZfsError, zfsFailure, type ZfsFailure, type ZfsErrorContext } from './zfsErrors.js';
export type { ZfsDriverConfig } from './ZfsSession.js';
export { REFQUOTA_USER_PROPERTY } from './zfsSnapshots.js';

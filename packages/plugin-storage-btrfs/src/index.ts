/**
 * @corral/plugin-storage-btrfs: Proxmox's `btrfs` storage type for Corral.
 *
 * @packageDocumentation
 */
export { storageBtrfsPlugin } from './storageBtrfsPlugin.js';
export { BtrfsStorageDriver } from './BtrfsStorageDriver.js';
export { BTRFS_STORAGE_INFO, BTRFS_NO_QUOTA_STORAGE_INFO, btrfsInfoFor, btrfsQemuHints } from './btrfsStorageInfo.js';
export { btrfsOptionsSchema, btrfsOptions, type BtrfsOptions } from './btrfsOptions.js';
export { BtrfsLayout } from './BtrfsLayout.js';
export { BtrfsCommands } from './BtrfsCommands.js';
export { parseBtrfsVolname, guestVolname, toParsedVolname, type BtrfsVolname } from './btrfsVolname.js';
export { parseSubvolumeList, type SubvolumeEntry } from './btrfsSubvolumes.js';
export { parseQgroupShow, type QgroupUsage } from './btrfsQuota.js';

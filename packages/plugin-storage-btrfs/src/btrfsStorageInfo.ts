import { storageFlag, type QemuAccessHints, type StorageDefinition, type StorageDriverInfo } from '@corral/core';
import { btrfsOptionsSchema } from './btrfsOptions.js';

/**
 * The capability record of the `btrfs` type, after pve-storage's BTRFSPlugin
 * `volume_has_feature` for the formats it allocates (raw in a subvolume, subvol):
 * snapshots of both (read-only subvolume snapshots), rollback, templates, linked clones of
 * bases (both), of current raw images and of raw snapshots, full copies of every state.
 * Additions: raw images grow and shrink (the file is truncated); a subvol resizes (its qgroup
 * limit) on a storage with `quotas 1`. This type-level record is the widest; see
 * {@link btrfsInfoFor} for one storage's.
 */
export const BTRFS_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'btrfs',
  description: 'Directory on a btrfs filesystem: raw images in per-volume subvolumes, container subvolumes, read-only snapshots, linked clones as snapshots, ISO images, container templates, backups and snippets',
  contentTypes: ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw', 'subvol'],
  defaultFormat: 'raw',
  shared: false,
  thin: true,
  accessKinds: ['file', 'directory'],
  features: {
    snapshot: { current: ['raw', 'subvol'] },
    rollback: { snapshot: ['raw', 'subvol'] },
    clone: { base: ['raw', 'subvol'], current: ['raw'], snapshot: ['raw'] },
    template: { current: ['raw', 'subvol'] },
    copy: { base: ['raw', 'subvol'], current: ['raw', 'subvol'], snapshot: ['raw', 'subvol'] },
    resize: { current: ['raw', 'subvol'] },
    shrink: { current: ['raw'] },
    sparseinit: { base: ['raw'], current: ['raw'] },
  },
  exportFormats: ['btrfs', 'raw+size', 'tar+size'],
  importFormats: ['btrfs', 'raw+size', 'tar+size'],
  liveSnapshots: true,
  optionsSchema: btrfsOptionsSchema,
  secretOptions: [],
  // `quotas` enables quota groups on the whole host filesystem, not only on this storage.
  privilegedOptions: ['path', 'is_mountpoint', 'quotas'],
});

/** The record of a storage without `quotas`: container subvolumes have no size to change. */
export const BTRFS_NO_QUOTA_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  ...BTRFS_STORAGE_INFO,
  features: { ...BTRFS_STORAGE_INFO.features, resize: { current: ['raw'] } },
});

/**
 * The capability record of one btrfs storage: {@link BTRFS_STORAGE_INFO} with `quotas 1`, else
 * {@link BTRFS_NO_QUOTA_STORAGE_INFO} (no `resize` of subvols: their size would be a qgroup
 * limit, and Proxmox refuses sized btrfs subvolumes).
 */
export function btrfsInfoFor(definition: StorageDefinition): StorageDriverInfo {
  return storageFlag(definition.options.quotas) ? BTRFS_STORAGE_INFO : BTRFS_NO_QUOTA_STORAGE_INFO;
}

/**
 * How QEMU opens a btrfs storage's images when the drive names no cache mode (qemu-server's
 * `drive_uses_cache_direct`): without `nocow`, O_DIRECT on checksummed data is unsafe, so the
 * page cache (`writeback`); with `nocow`, QEMU's default (`none`).
 */
export function btrfsQemuHints(nocow: boolean): QemuAccessHints {
  return nocow ? {} : { defaultCache: 'writeback' };
}

import type { StorageDriverInfo } from '@corral/core';
import { zfsOptionsSchema } from './zfsOptions.js';

const BOTH = ['raw', 'subvol'] as const;

/**
 * The capability record of the `zfspool` type. Features follow Proxmox's ZFSPoolPlugin
 * (snapshots of current volumes, templates, linked clones of bases) plus linked clones of
 * snapshots, rollback to the most recent snapshot, and full copies of snapshots (through
 * `zfs send`). Growing works through `volsize`/`refquota`; shrinking is not offered.
 *
 * `thin: false`: zvols reserve their size unless the storage is `sparse`, and the facade
 * refuses an allocation bigger than the pool's free space for subvol quotas as well.
 * zvols need a ZFS with zvol support (OpenZFS); zfs-fuse has none and answers
 * `NotSupportedError` when a raw volume is allocated.
 */
export const ZFS_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'zfspool',
  description: 'ZFS pool: zvols for VM disks (/dev/zvol), filesystem datasets for container root filesystems',
  contentTypes: ['images', 'rootdir'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw', 'subvol'],
  defaultFormat: 'raw',
  shared: false,
  thin: false,
  accessKinds: ['block', 'directory'],
  features: {
    snapshot: { current: BOTH },
    rollback: { snapshot: BOTH },
    clone: { base: BOTH, snapshot: BOTH },
    template: { current: BOTH },
    copy: { base: BOTH, current: BOTH, snapshot: BOTH },
    resize: { current: BOTH },
    sparseinit: { base: ['raw'], current: ['raw'] },
  },
  exportFormats: ['zfs', 'raw+size', 'tar+size'],
  importFormats: ['zfs', 'raw+size', 'tar+size'],
  liveSnapshots: true,
  optionsSchema: zfsOptionsSchema,
  secretOptions: [],
  privilegedOptions: ['pool', 'mountpoint'],
});

/**
 * The capability record of a `sparse` zfspool storage: as {@link ZFS_STORAGE_INFO}, but thin
 * (zvols are created without reservation, `zfs create -s`, so the facade does not refuse an
 * allocation bigger than the pool's free space, as Proxmox does not for a sparse pool).
 */
export const ZFS_SPARSE_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({ ...ZFS_STORAGE_INFO, thin: true });

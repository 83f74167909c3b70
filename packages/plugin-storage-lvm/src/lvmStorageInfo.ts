import type { StorageDriverInfo } from '@corral/core';
import { lvmOptionsSchema, lvmThinOptionsSchema } from './lvmOptions.js';

const RAW = ['raw'] as const;

/**
 * The capability record of the `lvm` type (Proxmox's LVMPlugin with raw volumes): plain LVs,
 * thick, grown with lvextend, full copies through `raw+size`; no snapshots, templates or
 * linked clones (Proxmox offers those only for qcow2 volume chains, not implemented here).
 * Shared when the definition says `shared 1` (a VG on an iSCSI LUN seen by every node).
 * QEMU gets no io_uring on it (Proxmox disables it for lvm).
 */
export const LVM_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'lvm',
  description: 'LVM volume group: plain logical volumes as raw VM and container disks',
  contentTypes: ['images', 'rootdir'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: false,
  thin: false,
  accessKinds: ['block'],
  features: {
    copy: { current: RAW },
    resize: { current: RAW },
  },
  exportFormats: ['raw+size'],
  importFormats: ['raw+size'],
  liveSnapshots: false,
  optionsSchema: lvmOptionsSchema,
  secretOptions: [],
  privilegedOptions: ['vgname', 'base'],
});

/**
 * The capability record of the `lvmthin` type (Proxmox's LvmThinPlugin): thin volumes in a
 * thin pool, thin snapshots, templates and linked clones (writable thin snapshots of a base or
 * of a snapshot), growth, full copies of volumes, bases and snapshots through `raw+size`.
 */
export const LVMTHIN_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'lvmthin',
  description: 'LVM thin pool: thin logical volumes with snapshots, templates and linked clones',
  contentTypes: ['images', 'rootdir'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: false,
  thin: true,
  accessKinds: ['block'],
  features: {
    snapshot: { current: RAW },
    rollback: { snapshot: RAW },
    clone: { base: RAW, snapshot: RAW },
    template: { current: RAW },
    copy: { base: RAW, current: RAW, snapshot: RAW },
    resize: { current: RAW },
    sparseinit: { base: RAW, current: RAW },
  },
  exportFormats: ['raw+size'],
  importFormats: ['raw+size'],
  liveSnapshots: true,
  optionsSchema: lvmThinOptionsSchema,
  secretOptions: [],
  privilegedOptions: ['vgname', 'thinpool'],
});

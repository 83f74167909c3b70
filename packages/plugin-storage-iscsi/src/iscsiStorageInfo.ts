import type { StorageDriverInfo } from '@corral/core';
import { iscsiOptionsSchema } from './iscsiOptions.js';

const RAW = ['raw'] as const;

/**
 * What both iSCSI types share, following Proxmox's plugins: the LUNs of one target are raw
 * volumes that exist outside Corral. Nothing can be allocated (`allocates: false`: the facade
 * refuses it), freed, resized, snapshotted or templated (Proxmox dies on each); a LUN can be copied to another storage (`copy` of the
 * current state) through a `raw+size` export. Nothing can be imported. Content `images`
 * (or `none`, when the storage only carries an LVM volume group). `portal` and `target` are
 * privileged: root's initiator logs the host in to them and the host probes their disks.
 */
const COMMON = {
  contentTypes: ['images'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: true,
  thin: false,
  allocates: false,
  features: { copy: { current: RAW } },
  exportFormats: ['raw+size'],
  importFormats: [],
  liveSnapshots: false,
  optionsSchema: iscsiOptionsSchema,
  secretOptions: [],
  privilegedOptions: ['portal', 'target'],
} as const satisfies Omit<StorageDriverInfo, 'type' | 'description' | 'accessKinds'>;

/** Capability record of type `iscsidirect` (Proxmox's ISCSIDirectPlugin): QEMU reaches each LUN through libiscsi. */
export const ISCSI_DIRECT_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  ...COMMON,
  type: 'iscsidirect',
  description: 'LUNs of an iSCSI target reached by QEMU through libiscsi (iscsi://), without the kernel initiator',
  accessKinds: ['qemu'],
});

/** Capability record of type `iscsi` (Proxmox's ISCSIPlugin): the kernel initiator logs in and each LUN is a block device. */
export const ISCSI_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  ...COMMON,
  type: 'iscsi',
  description: 'LUNs of an iSCSI target, logged in by the kernel initiator (open-iscsi) and used as block devices from /dev/disk/by-id',
  accessKinds: ['block'],
});

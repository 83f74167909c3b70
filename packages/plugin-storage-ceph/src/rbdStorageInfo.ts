import type { StorageDriverInfo } from '@corral/core';
import { rbdOptionsSchema } from './rbdOptions.js';

const RAW = ['raw'] as const;

/**
 * The capability record of the `rbd` type, following Proxmox's RBDPlugin `volume_has_feature`
 * (snapshots, templates, linked clones of templates and of snapshots, full copies of every
 * state, thin allocation) plus grow and shrink (`rbd resize [--allow-shrink]`) and rollback to
 * any snapshot. Images are always `raw`; containers get them through krbd (`block`), VMs
 * through librbd (`qemu`).
 */
export const RBD_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'rbd',
  description: 'Ceph RADOS block devices: thin images with snapshots and linked clones, reached by QEMU through librbd or mapped through krbd',
  contentTypes: ['images', 'rootdir'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: true,
  thin: true,
  accessKinds: ['qemu', 'block'],
  features: {
    snapshot: { current: RAW },
    rollback: { snapshot: RAW },
    clone: { base: RAW, snapshot: RAW },
    template: { current: RAW },
    copy: { base: RAW, current: RAW, snapshot: RAW },
    resize: { current: RAW },
    shrink: { current: RAW },
    sparseinit: { base: RAW, current: RAW },
  },
  exportFormats: ['raw+size'],
  importFormats: ['raw+size'],
  liveSnapshots: true,
  optionsSchema: rbdOptionsSchema,
  secretOptions: ['keyring'],
  privilegedOptions: ['conf'],
});

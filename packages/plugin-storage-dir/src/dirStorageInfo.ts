import type { StorageDriverInfo } from '@corral/core';
import { dirOptionsSchema } from './dirOptions.js';

const IMAGE = ['qcow2', 'raw', 'vmdk'] as const;

/**
 * The capability record of the `dir` type. Features follow pve-storage's `volume_has_feature`
 * for file storages: qcow2 internal snapshots, templates and linked clones (qcow2 overlays on
 * raw/qcow2/vmdk bases), full copies of every image and of qcow2 snapshots. Additions: raw
 * and qcow2 may shrink (`qemu-img resize --shrink`); container subvols are plain directories
 * (no snapshots, quota recorded but not enforced).
 */
export const DIR_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'dir',
  description: 'Directory on a local or mounted filesystem: raw/qcow2/vmdk image files, container subvol directories, ISO images, container templates, backups, snippets and import sources (OVA/OVF, disk images)',
  contentTypes: ['images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets', 'import'],
  defaultContent: ['images', 'rootdir'],
  formats: ['raw', 'qcow2', 'vmdk', 'subvol'],
  defaultFormat: 'raw',
  shared: false,
  thin: true,
  accessKinds: ['file', 'directory'],
  features: {
    snapshot: { current: ['qcow2'] },
    rollback: { snapshot: ['qcow2'] },
    clone: { base: IMAGE },
    template: { current: IMAGE },
    copy: { base: IMAGE, current: [...IMAGE, 'subvol'], snapshot: ['qcow2'] },
    resize: { current: ['raw', 'qcow2'] },
    shrink: { current: ['raw', 'qcow2'] },
    sparseinit: { base: IMAGE, current: IMAGE },
  },
  exportFormats: ['raw+size', 'qcow2+size', 'tar+size'],
  importFormats: ['raw+size', 'qcow2+size', 'tar+size'],
  liveSnapshots: true,
  optionsSchema: dirOptionsSchema,
  secretOptions: [],
  privilegedOptions: ['path', 'is_mountpoint'],
});

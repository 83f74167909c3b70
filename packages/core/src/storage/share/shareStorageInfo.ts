import type { TObject } from '@sinclair/typebox';
import type { StorageDriverInfo, VolumeAccessKind } from '../../contracts/storage.js';

const IMAGE = ['raw', 'qcow2'] as const;

/**
 * The capability record of a share storage type. Features follow pve-storage's
 * `volume_has_feature` for file storages, for raw and qcow2 images: qcow2 internal snapshots,
 * templates and linked clones (qcow2 overlays on a base), full copies through `raw+size`, grow
 * and shrink. No container subvols (Proxmox keeps container volumes on network shares as raw
 * images; rootdir is not offered here yet). Shared: every node mounts the same share.
 */
export function shareStorageInfo(o: {
  type: string;
  description: string;
  optionsSchema: TObject;
  accessKinds: readonly VolumeAccessKind[];
  secretOptions: readonly string[];
  privilegedOptions: readonly string[];
}): StorageDriverInfo {
  return Object.freeze<StorageDriverInfo>({
    type: o.type,
    description: o.description,
    contentTypes: ['images', 'iso', 'vztmpl', 'backup', 'snippets', 'import'],
    defaultContent: ['images'],
    formats: ['raw', 'qcow2'],
    defaultFormat: 'raw',
    shared: true,
    thin: true,
    accessKinds: o.accessKinds,
    features: {
      snapshot: { current: ['qcow2'] },
      rollback: { snapshot: ['qcow2'] },
      clone: { base: IMAGE },
      template: { current: IMAGE },
      copy: { base: IMAGE, current: IMAGE },
      resize: { current: IMAGE },
      shrink: { current: IMAGE },
      sparseinit: { base: IMAGE, current: IMAGE },
    },
    exportFormats: ['raw+size'],
    importFormats: ['raw+size'],
    liveSnapshots: true,
    optionsSchema: o.optionsSchema,
    secretOptions: o.secretOptions,
    privilegedOptions: o.privilegedOptions,
  });
}

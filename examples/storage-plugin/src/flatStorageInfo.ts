import type { StorageDriverInfo } from '@corral/core';
import { flatOptionsSchema } from './flatOptions.js';

/**
 * The capability record of storage type `flatdir`. The facade (`kernel.storage`) reads it
 * BEFORE calling the driver: an operation the record leaves out (here: snapshots, rollback,
 * templates, linked clones, shrink) is refused with `NotSupportedError` and the driver never
 * runs. So the record must say exactly what the driver can do; the conformance kit checks both
 * directions (what is claimed works, what is not claimed is refused).
 */
export const FLAT_STORAGE_INFO: StorageDriverInfo = Object.freeze<StorageDriverInfo>({
  type: 'flatdir',
  description: 'Flat directory of sparse raw image files (<path>/<vmid>/vm-<vmid>-disk-<n>.raw)',
  contentTypes: ['images'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: false,
  // Sparse files: space is used as data is written, so the facade does not check free space first.
  thin: true,
  accessKinds: ['file'],
  features: {
    // Full copies (kernel.storage.copy) travel as raw+size streams: export + import below.
    copy: { current: ['raw'] },
    // Grow only: no `shrink` entry, so a smaller size is refused before `resize` runs.
    resize: { current: ['raw'] },
    sparseinit: { current: ['raw'] },
  },
  // Every image-capable driver must speak raw+size, so copies work between ANY two storages.
  exportFormats: ['raw+size'],
  importFormats: ['raw+size'],
  liveSnapshots: false,
  optionsSchema: flatOptionsSchema,
  secretOptions: [],
  privilegedOptions: ['path'],
});

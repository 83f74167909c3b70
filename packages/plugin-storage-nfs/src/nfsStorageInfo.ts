import { nfsOptionsSchema } from './nfsOptions.js';
import { shareStorageInfo } from '@corral/core';

/**
 * The capability record of the `nfs` type (see {@link shareStorageInfo}); QEMU reaches
 * images through libnfs (access kind `qemu`). `path`, `server`, `export` and `options` are
 * privileged: they mount a remote filesystem on the host as root.
 */
export const NFS_STORAGE_INFO = shareStorageInfo({
  type: 'nfs',
  description: 'NFS export mounted on the node: raw/qcow2 image files (opened by QEMU through libnfs), ISO images, container templates, backups and snippets',
  optionsSchema: nfsOptionsSchema,
  accessKinds: ['file', 'qemu'],
  secretOptions: [],
  privilegedOptions: ['path', 'server', 'export', 'options'],
});

import { cifsShareMount } from './cifsMount.js';
import { cifsMountSpec, cifsOptionsSchema } from './cifsOptions.js';
import { cifsShareReachable } from './cifsProbe.js';
import { shareStorageInfo, type ShareType } from '@corral/core';

/**
 * The capability record of the `cifs` type (see {@link shareStorageInfo}). QEMU has no SMB
 * block driver: volumes are files on the mount (access kind `file`). `password` is a secret
 * (the facade keeps it out of storage.cfg; the mount reads it from a credentials file in the
 * storage's run directory, as Proxmox's `/etc/pve/priv/storage/<id>.pw`).
 */
export const CIFS_STORAGE_INFO = shareStorageInfo({
  type: 'cifs',
  description: 'SMB/CIFS share mounted on the node: raw/qcow2 image files, ISO images, container templates, backups and snippets',
  optionsSchema: cifsOptionsSchema,
  accessKinds: ['file'],
  secretOptions: ['password'],
  privilegedOptions: ['path', 'server', 'share', 'subdir', 'options'],
});

/** Storage type `cifs` (Proxmox's CIFSPlugin): `mount -t cifs //<server>/<share><subdir> <path> -o soft ...`. */
export const CIFS_SHARE_TYPE: ShareType = Object.freeze<ShareType>({
  info: CIFS_STORAGE_INFO,
  shareMount: (ctx) => cifsShareMount(cifsMountSpec(ctx)),
  checkConnection: (ctx) => cifsShareReachable(ctx.runner, cifsMountSpec(ctx), ctx.signal),
});

import { shareStorageInfo, type ShareType } from '@corral/core';
import { glusterfsShareMount } from './glusterfsMount.js';
import { checkGlusterfsDefinition, glusterfsOptionsSchema, glusterfsSpec } from './glusterfsOptions.js';
import { activeGlusterServer } from './glusterfsProbe.js';

/**
 * The capability record of the `glusterfs` type (core's share record): raw and
 * qcow2 images (qcow2 snapshots, templates, linked clones), iso, vztmpl, backup and snippets
 * files; QEMU opens images through libgfapi (access kind `qemu`). `path`, `server`, `server2`,
 * `volume` and `transport` are privileged: they mount a remote filesystem on the host as root.
 */
export const GLUSTERFS_STORAGE_INFO = shareStorageInfo({
  type: 'glusterfs',
  description: 'GlusterFS volume mounted on the node (FUSE): raw/qcow2 image files (opened by QEMU through libgfapi), ISO images, container templates, backups and snippets',
  optionsSchema: glusterfsOptionsSchema,
  accessKinds: ['file', 'qemu'],
  secretOptions: [],
  privilegedOptions: ['path', 'server', 'server2', 'volume', 'transport'],
});

/**
 * Storage type `glusterfs` (Proxmox VE 8's GlusterfsPlugin) for the share driver:
 * `mount -t glusterfs <server>:<volume> <path>`; the connection probe is pve's
 * `get_active_server` (either server answering).
 */
export const GLUSTERFS_SHARE_TYPE: ShareType = Object.freeze<ShareType>({
  info: GLUSTERFS_STORAGE_INFO,
  shareMount: (ctx) => glusterfsShareMount(glusterfsSpec(ctx.storage)),
  checkConnection: async (ctx) => (await activeGlusterServer(ctx.runner, glusterfsSpec(ctx.storage), ctx.signal)) !== undefined,
  checkDefinition: (ctx) => checkGlusterfsDefinition(ctx.storage),
});

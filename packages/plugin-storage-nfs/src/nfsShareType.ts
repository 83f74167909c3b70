import { checkHostPath, type ShareType } from '@corral/core';
import { nfsShareMount } from './nfsMount.js';
import { nfsMountSpec } from './nfsOptions.js';
import { nfsServerReachable } from './nfsProbe.js';
import { nfsShareQemuAccess } from './nfsQemuAccess.js';
import { NFS_STORAGE_INFO } from './nfsStorageInfo.js';

/**
 * Storage type `nfs` (Proxmox's NFSPlugin): `mount -t nfs <server>:<export> <path> [-o <options>]`;
 * QEMU reaches images through libnfs at `nfs://<server><export>/...`.
 */
export const NFS_SHARE_TYPE: ShareType = Object.freeze<ShareType>({
  info: NFS_STORAGE_INFO,
  shareMount: (ctx) => nfsShareMount(nfsMountSpec(ctx.storage)),
  qemuAccess: (ctx, file) => {
    const spec = nfsMountSpec(ctx.storage);
    return nfsShareQemuAccess({ server: spec.server, export: spec.export }, file);
  },
  checkConnection: (ctx) => {
    const spec = nfsMountSpec(ctx.storage);
    return nfsServerReachable(ctx.runner, spec.server, spec.mountOptions, ctx.signal);
  },
  checkDefinition: (ctx) => {
    const exp = ctx.storage.options.export!;
    if (exp !== '/') checkHostPath('export', exp);
  },
});

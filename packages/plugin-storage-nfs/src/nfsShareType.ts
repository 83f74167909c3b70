import { checkHostPath } from '@corral/core';
import { nfsShareMount } from './nfsMount.js';
import { nfsMountSpec } from './nfsOptions.js';
import { nfsServerReachable } from './nfsProbe.js';
import { NFS_STORAGE_INFO } from './nfsStorageInfo.js';
import type { ShareType } from './ShareType.js';

/**
 * Storage type `nfs` (Proxmox's NFSPlugin): `mount -t nfs <server>:<export> <path> [-o <options>]`;
 * QEMU reaches images through libnfs at `nfs://<server><export>/...`.
 */
export const NFS_SHARE_TYPE: ShareType = Object.freeze<ShareType>({
  info: NFS_STORAGE_INFO,
  shareMount: (ctx) => nfsShareMount(nfsMountSpec(ctx.storage)),
  qemuExport: (ctx) => {
    const spec = nfsMountSpec(ctx.storage);
    return { server: spec.server, export: spec.export };
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

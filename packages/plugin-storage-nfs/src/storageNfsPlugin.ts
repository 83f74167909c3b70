import { definePlugin, extensionPoints, type ShareMounter, ShareStorageDriver } from '@corral/core';
import { NFS_SHARE_TYPE } from './nfsShareType.js';

/**
 * Builds plugin `storage-nfs` (storage type `nfs`) with its own mounter; `mounter` defaults
 * to the kernel client. Use {@link storageNfsPlugin} unless mounts are made some other way.
 */
export function createStorageNfsPlugin(options: { mounter?: ShareMounter } = {}) {
  return definePlugin({
    id: 'storage-nfs',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.storageDrivers, 'nfs', new ShareStorageDriver(NFS_SHARE_TYPE, options.mounter));
    },
  });
}

/**
 * Plugin `storage-nfs`: storage type `nfs`, mounted with the kernel client.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageNfsPlugin] });
 * await kernel.storage.add('nas', 'nfs', { server: '10.0.0.5', export: '/srv/pve', path: '/mnt/pve/nas', options: 'vers=4.2', content: 'images,iso' });
 * ```
 */
export const storageNfsPlugin = createStorageNfsPlugin();

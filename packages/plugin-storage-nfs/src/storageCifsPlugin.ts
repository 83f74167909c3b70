import { definePlugin, extensionPoints, type ShareMounter, ShareStorageDriver } from '@corral/core';
import { CIFS_SHARE_TYPE } from './cifsShareType.js';

/**
 * Builds plugin `storage-cifs` (storage type `cifs`) with its own mounter; `mounter` defaults
 * to the kernel client. Use {@link storageCifsPlugin} unless mounts are made some other way.
 */
export function createStorageCifsPlugin(options: { mounter?: ShareMounter } = {}) {
  return definePlugin({
    id: 'storage-cifs',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.storageDrivers, 'cifs', new ShareStorageDriver(CIFS_SHARE_TYPE, options.mounter));
    },
  });
}

/**
 * Plugin `storage-cifs`: storage type `cifs`, mounted with the kernel client.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageCifsPlugin] });
 * await kernel.storage.add('smb', 'cifs', { server: 'nas', share: 'pve', path: '/mnt/pve/smb', username: 'pve', password: 'secret', smbversion: '3' });
 * ```
 */
export const storageCifsPlugin = createStorageCifsPlugin();

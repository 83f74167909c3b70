import { definePlugin, extensionPoints } from '@corral/core';
import { ZfsStorageDriver } from './ZfsStorageDriver.js';

/**
 * Plugin `storage-zfs`: provides storage type `zfspool` ({@link ZfsStorageDriver}). Each
 * kernel gets its own driver instance.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageZfsPlugin] });
 * await kernel.storage.add('local-zfs', 'zfspool', { pool: 'rpool/data', content: 'images,rootdir', sparse: true });
 * ```
 */
export const storageZfsPlugin = definePlugin({
  id: 'storage-zfs',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'zfspool', new ZfsStorageDriver());
  },
});

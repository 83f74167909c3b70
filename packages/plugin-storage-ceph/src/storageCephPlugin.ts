import { definePlugin, extensionPoints } from '@corral/core';
import { RbdStorageDriver } from './RbdStorageDriver.js';

/**
 * Plugin `storage-ceph`: provides storage type `rbd` ({@link RbdStorageDriver}). Each kernel
 * gets its own driver instance.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageCephPlugin] });
 * await kernel.storage.add('ceph', 'rbd', { pool: 'rbd', monhost: '10.0.0.1 10.0.0.2', username: 'pve', keyring: keyringText });
 * ```
 */
export const storageCephPlugin = definePlugin({
  id: 'storage-ceph',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'rbd', new RbdStorageDriver());
  },
});

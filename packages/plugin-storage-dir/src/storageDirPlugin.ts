import { definePlugin, extensionPoints } from '@corral/core';
import { DirStorageDriver } from './DirStorageDriver.js';

/**
 * Plugin `storage-dir`: provides storage type `dir` ({@link DirStorageDriver}). Each kernel
 * gets its own driver instance.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageDirPlugin] });
 * await kernel.storage.add('local', 'dir', { path: '/var/lib/vz', content: 'images,rootdir,iso,vztmpl,backup,snippets' });
 * ```
 */
export const storageDirPlugin = definePlugin({
  id: 'storage-dir',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'dir', new DirStorageDriver());
  },
});

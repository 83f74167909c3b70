import { definePlugin, extensionPoints } from '@corral/core';
import { BtrfsStorageDriver } from './BtrfsStorageDriver.js';

/**
 * Plugin `storage-btrfs`: provides storage type `btrfs` ({@link BtrfsStorageDriver}). Each
 * kernel gets its own driver instance.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageBtrfsPlugin] });
 * await kernel.storage.add('local-btrfs', 'btrfs', { path: '/var/lib/pve/local-btrfs', content: 'images,rootdir' }, { caller: ROOT_CALLER });
 * ```
 */
export const storageBtrfsPlugin = definePlugin({
  id: 'storage-btrfs',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'btrfs', new BtrfsStorageDriver());
  },
});

import { definePlugin, extensionPoints } from '@corral/core';
import { LvmStorageDriver } from './LvmStorageDriver.js';
import { LvmThinStorageDriver } from './LvmThinStorageDriver.js';

/**
 * Plugin `storage-lvm`: provides storage type `lvm` ({@link LvmStorageDriver}).
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageLvmPlugin, storageLvmThinPlugin] });
 * await kernel.storage.add('san-lvm', 'lvm', { vgname: 'vg0', shared: '1', saferemove: '1' }, { caller: ROOT_CALLER });
 * ```
 */
export const storageLvmPlugin = definePlugin({
  id: 'storage-lvm',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'lvm', new LvmStorageDriver());
  },
});

/**
 * Plugin `storage-lvmthin`: provides storage type `lvmthin` ({@link LvmThinStorageDriver}).
 *
 * ```ts
 * await kernel.storage.add('local-lvm', 'lvmthin', { thinpool: 'data', vgname: 'pve', content: 'rootdir,images' }, { caller: ROOT_CALLER });
 * ```
 */
export const storageLvmThinPlugin = definePlugin({
  id: 'storage-lvmthin',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'lvmthin', new LvmThinStorageDriver());
  },
});

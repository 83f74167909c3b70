import { definePlugin, extensionPoints } from '@corral/core';
import { IscsiDirectStorageDriver } from './IscsiDirectStorageDriver.js';

/**
 * Plugin `storage-iscsi`: provides storage type `iscsidirect` ({@link IscsiDirectStorageDriver}).
 * Each kernel gets its own driver instance.
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [storageIscsiPlugin] });
 * await kernel.storage.add('san', 'iscsidirect', { portal: '10.0.0.5', target: 'iqn.2003-01.org.example:disks' });
 * ```
 */
export const storageIscsiPlugin = definePlugin({
  id: 'storage-iscsi',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.storageDrivers, 'iscsidirect', new IscsiDirectStorageDriver());
  },
});

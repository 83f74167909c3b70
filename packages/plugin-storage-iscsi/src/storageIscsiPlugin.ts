import { definePlugin, extensionPoints } from '@corral/core';
import { IscsiDirectStorageDriver } from './IscsiDirectStorageDriver.js';
import { IscsiStorageDriver } from './IscsiStorageDriver.js';

/**
 * Plugin `storage-iscsi`: provides storage types `iscsi` ({@link IscsiStorageDriver}, the kernel
 * initiator) and `iscsidirect` ({@link IscsiDirectStorageDriver}, libiscsi). Each kernel gets its
 * own driver instances.
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
    env.extend(extensionPoints.storageDrivers, 'iscsi', new IscsiStorageDriver());
    env.extend(extensionPoints.storageDrivers, 'iscsidirect', new IscsiDirectStorageDriver());
  },
});

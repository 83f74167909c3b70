import { definePlugin, extensionPoints } from '@corral/core';
import { FlatStorageDriver } from './FlatStorageDriver.js';

/**
 * Plugin `acme.storage-flat`: provides storage type `flatdir` ({@link FlatStorageDriver}).
 * Found by the kernel through the `"corral"` block of this package's package.json, or passed
 * in explicitly:
 *
 * ```ts
 * const kernel = await createKernel({ node, dataDir, runDir, discover: true }); // or plugins: [storageFlatPlugin]
 * await kernel.storage.add('flat', 'flatdir', { path: '/srv/flat' });
 * const volid = await kernel.storage.allocate({ storage: 'flat', vmid: 100, sizeBytes: 32 * 2 ** 30 });
 * ```
 */
export const storageFlatPlugin = definePlugin({
  // Third-party ids carry a prefix of their own, so they never clash with Corral's plugins.
  id: 'acme.storage-flat',
  // The plugin API version this code was written against: a literal, NOT core's
  // PLUGIN_API_VERSION, so that a core with an incompatible contract refuses the plugin
  // (CORRAL_ERR_PLUGIN_API_TOO_OLD) instead of loading it blindly. See API-CHANGELOG.md.
  apiVersion: 3,
  register(env) {
    // One driver instance per kernel, keyed by the storage type id used in storage.cfg.
    env.extend(extensionPoints.storageDrivers, 'flatdir', new FlatStorageDriver());
  },
});

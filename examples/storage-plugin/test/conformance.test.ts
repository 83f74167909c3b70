import test from 'ava';
import { extensionPoints, ROOT_CALLER } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { kernelWithDiscoveredPlugin } from './kernelWithDiscoveredPlugin.js';

test('the kernel discovers the plugin through its package.json', async (t) => {
  const kernel = await kernelWithDiscoveredPlugin(t);
  t.deepEqual(kernel.plugins.loaded, ['acme.storage-flat']);
  t.deepEqual(kernel.plugins.failed, []);
  t.true(kernel.extensions(extensionPoints.storageDrivers).has('flatdir'), 'storage type flatdir is registered');
});

// The whole storage-driver contract, through kernel.storage, against a flatdir storage whose
// plugin was discovered, with a second flatdir storage as the target of cross-storage copies.
// Checks of features the capability record leaves out (snapshots, templates, linked clones,
// shrink) assert that they are refused with NotSupportedError before the driver runs.
storageConformanceSuite(test, {
  name: 'flatdir',
  // Names of other storage types (zfs/lvm, dir qcow2, iso files, a mismatched guest id).
  foreignVolnames: ['vm-100-disk-0', 'tank/vm-100-disk-0', '100/vm-100-disk-0.qcow2', 'iso/debian.iso', '100/vm-101-disk-0.raw', '100/base-100-disk-0.raw'],
  setup: async (t) => {
    const kernel = await kernelWithDiscoveredPlugin(t);
    await kernel.storage.add('under-test', 'flatdir', { path: await makeTempDir(t, 'corral-flat-'), content: 'images' }, { caller: ROOT_CALLER });
    await kernel.storage.add('copy-target', 'flatdir', { path: await makeTempDir(t, 'corral-flat-target-') }, { caller: ROOT_CALLER });
    return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
  },
});

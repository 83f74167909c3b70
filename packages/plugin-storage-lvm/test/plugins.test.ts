/** The package offers two plugins, found by discovery through its "corral" block, each providing its storage type. */
import test from 'ava';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverPlugins, extensionPoints } from '@corral/core';
import { createTestKernel } from '@corral/core/testing';
import { LvmStorageDriver, LvmThinStorageDriver, storageLvmPlugin, storageLvmThinPlugin } from '../src/index.js';

/** The repository root (this file runs from packages/plugin-storage-lvm/dist/test). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

test('discovery finds storage-lvm and storage-lvmthin in @corral/plugin-storage-lvm', async (t) => {
  const { candidates, failures } = await discoverPlugins([ROOT]);
  t.deepEqual(failures.filter((f) => f.packageName === '@corral/plugin-storage-lvm'), []);
  const ours = candidates.filter((c) => c.source.kind === 'package' && c.source.packageName === '@corral/plugin-storage-lvm').map((c) => c.plugin.id).sort();
  t.deepEqual(ours, ['storage-lvm', 'storage-lvmthin']);
});

test('each plugin provides its type; a kernel may load either or both', async (t) => {
  const both = await createTestKernel(t, { plugins: [storageLvmPlugin, storageLvmThinPlugin] });
  t.true(both.extensions(extensionPoints.storageDrivers).get('lvm') instanceof LvmStorageDriver);
  t.true(both.extensions(extensionPoints.storageDrivers).get('lvmthin') instanceof LvmThinStorageDriver);
  const thinOnly = await createTestKernel(t, { plugins: [storageLvmThinPlugin] });
  t.is(thinOnly.extensions(extensionPoints.storageDrivers).get('lvm'), undefined);
  t.truthy(thinOnly.extensions(extensionPoints.storageDrivers).get('lvmthin'));
});

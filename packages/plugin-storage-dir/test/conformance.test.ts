import test from 'ava';
import { createTestKernel, hasProgram, makeTempDir, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { ROOT_CALLER } from '@corral/core';
import { storageDirPlugin } from '../src/index.js';

const missing = ['qemu-img', 'qemu-io', 'qemu-nbd', 'tar'].filter((p) => !hasProgram(p));

if (missing.length > 0 && !realComponentsRequired()) {
  test.skip(`dir conformance (skipped: ${missing.join(', ')} not installed)`, () => undefined);
} else {
  // The whole storage contract against a dir storage in a private temp dir, with a second
  // dir storage as the target of cross-storage copies.
  storageConformanceSuite(test, {
    name: 'dir',
    foreignVolnames: ['vm-100-disk-0', 'subvol-100-disk-0', 'tank/vm-100-disk-0', 'rbd/vm-100-disk-0', 'base-100-disk-0/vm-101-disk-0', 'import/x.exe', 'rootdir/100', 'iso/x.dvd'],
    setup: async (t) => {
      if (missing.length > 0) t.fail(`required programs missing: ${missing.join(', ')}`);
      const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
      const [a, b] = [await makeTempDir(t, 'corral-dir-a-'), await makeTempDir(t, 'corral-dir-b-')];
      await kernel.storage.add('under-test', 'dir', { path: a, content: 'images,rootdir,iso,vztmpl,backup,snippets' }, { caller: ROOT_CALLER });
      await kernel.storage.add('copy-target', 'dir', { path: b, content: 'images,rootdir', format: 'qcow2' }, { caller: ROOT_CALLER });
      return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
    },
  });
}

import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT_CALLER } from '@corral/core';
import { createTestKernel, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { storageBtrfsPlugin } from '../src/index.js';
import { btrfsTestsUnavailable, createBtrfsTestFilesystem, type BtrfsTestFilesystem } from './support/BtrfsTestFilesystem.js';

const unavailable = btrfsTestsUnavailable();
let fs: BtrfsTestFilesystem | undefined;

if (unavailable && !realComponentsRequired()) {
  test.skip(`btrfs conformance (skipped: ${unavailable})`, () => undefined);
} else {
  test.before(async () => {
    if (!unavailable) fs = await createBtrfsTestFilesystem();
  });
  test.after.always(async () => {
    await fs?.destroy();
  });

  // The whole storage contract against a real btrfs filesystem on a loop device: a storage
  // with `quotas 1` (container subvolume sizes are qgroup limits) holding every content, and a
  // second btrfs storage on the same filesystem, without quotas, as the copy target.
  storageConformanceSuite(test, {
    name: 'btrfs',
    foreignVolnames: [
      'vm-100-disk-0',
      'subvol-100-disk-0',
      'tank/vm-100-disk-0',
      '100/vm-100-disk-0.qcow2',
      '100/vm-100-disk-0@snap.raw',
      '100/base-100-disk-0.raw/101/vm-101-disk-0.raw',
      'import/x.exe',
      'iso/x.dvd',
    ],
    setup: async (t) => {
      if (unavailable) t.fail(`required programs missing: ${unavailable}`);
      const kernel = await createTestKernel(t, { plugins: [storageBtrfsPlugin] });
      const a = await mkdtemp(join(fs!.mountPoint, 'a-'));
      const b = await mkdtemp(join(fs!.mountPoint, 'b-'));
      await kernel.storage.add('under-test', 'btrfs', { path: a, quotas: '1', content: 'images,rootdir,iso,vztmpl,backup,snippets' }, { caller: ROOT_CALLER });
      await kernel.storage.add('copy-target', 'btrfs', { path: b, content: 'images,rootdir', nocow: '1' }, { caller: ROOT_CALLER });
      return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
    },
  });

  // The same contract on a storage as Proxmox defines them (no quotas: container subvolumes
  // are unsized and their resize is not in the record) with nocow images.
  storageConformanceSuite(test, {
    name: 'btrfs nocow without quotas',
    foreignVolnames: ['vm-100-disk-0', '100/vm-100-disk-0.qcow2'],
    setup: async (t) => {
      if (unavailable) t.fail(`required programs missing: ${unavailable}`);
      const kernel = await createTestKernel(t, { plugins: [storageBtrfsPlugin] });
      const a = await mkdtemp(join(fs!.mountPoint, 'c-'));
      await kernel.storage.add('plain', 'btrfs', { path: a, nocow: '1', content: 'images,rootdir,iso,vztmpl,backup,snippets' }, { caller: ROOT_CALLER });
      return { kernel, storageId: 'plain' };
    },
  });
}

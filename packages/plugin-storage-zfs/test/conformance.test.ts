import test from 'ava';
import { hasProgram, makeTempDir, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { createZfsTestPool, ZFS_TEST_PROGRAMS, type ZfsTestPool } from './support/ZfsTestPool.js';
import { createZfsTestStorage } from './support/zfsTestStorage.js';

const missing = [...ZFS_TEST_PROGRAMS, 'tar'].filter((p) => !hasProgram(p));

let pool: ZfsTestPool | undefined;
let baseDir: string | undefined;

if (missing.length > 0 && !realComponentsRequired()) {
  test.skip(`zfspool conformance (skipped: ${missing.join(', ')} not installed; Debian package zfs-fuse)`, () => undefined);
} else {
  test.before(async () => {
    if (missing.length > 0) return;
    baseDir = await makeTempDir(undefined, 'corral-zfsconf-');
    pool = await createZfsTestPool({ dir: baseDir, sizeBytes: 512 * 1024 * 1024 });
  });
  test.after.always(async () => {
    await pool?.destroy();
    if (baseDir) await (await import('node:fs/promises')).rm(baseDir, { recursive: true, force: true });
  });

  // The storage contract against zfs-fuse, on a fresh child dataset per test. Only subvols
  // (container root filesystems) are exercised: zfs-fuse cannot create zvols, so the raw
  // format is covered by test/zvolArgv.test.ts with recorded output instead.
  storageConformanceSuite(test, {
    name: 'zfspool',
    formats: ['subvol'],
    foreignVolnames: ['100/vm-100-disk-0.qcow2', '100/vm-100-disk-0.raw', 'iso/x.iso', 'vm-100', 'rbd/vm-100-disk-0', 'base-100-disk-0/subvol-101-disk-0', 'basevol-100-disk-0/vm-101-disk-0'],
    setup: async (t) => {
      if (missing.length > 0) t.fail(`required programs missing: ${missing.join(', ')}`);
      const s = await createZfsTestStorage(t, pool!.pool);
      return { kernel: s.kernel, storageId: s.storageId };
    },
  });
}

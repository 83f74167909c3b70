/**
 * A write past a disk quota is `StorageFullError`, as a full disk is. Node has no name for
 * EDQUOT (it reports `errno: -122`, code 'Unknown system error -122'), so the driver matches the
 * errno. Real quota: a btrfs file system on a loop file with a qgroup limit on the storage's
 * subvolume (this kernel has no CONFIG_QUOTA for ext4/xfs/tmpfs quotas; btrfs qgroups do not
 * need it, and their limits apply to root too).
 */
import test, { type ExecutionContext } from 'ava';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, ROOT_CALLER, StorageFullError } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, realTest, runTool, runToolOk } from '@corral/core/testing';
import { storageFlatPlugin } from '../src/index.js';
import { rawSizeStream } from './rawSizeStream.js';

const MiB = 1024 * 1024;
const btrfsTest = realTest(test, ['mkfs.btrfs', 'btrfs', 'mount', 'umount'].every(hasProgram), 'needs mkfs.btrfs and btrfs (Debian package btrfs-progs)');

/** A btrfs subvolume limited to `limitBytes` by a qgroup, on a loop-mounted image; unmounted and removed when the test ends. */
async function quotaLimitedDir(t: ExecutionContext, limitBytes: number): Promise<string> {
  const dir = await makeTempDir(t, 'corral-flat-quota-');
  const image = join(dir, 'btrfs.img');
  const mnt = join(dir, 'mnt');
  await runToolOk(['truncate', '-s', '256M', image]);
  await runToolOk(['mkfs.btrfs', '-q', image]);
  await runToolOk(['mkdir', mnt]);
  await runToolOk(['mount', '-o', 'loop', image, mnt]);
  t.teardown(async () => {
    await runTool(['umount', mnt]);
    await rm(image, { force: true });
  });
  await runToolOk(['btrfs', 'quota', 'enable', mnt]);
  const subvol = join(mnt, 'flat');
  await runToolOk(['btrfs', 'subvolume', 'create', subvol]);
  await runToolOk(['btrfs', 'qgroup', 'limit', String(limitBytes), subvol]);
  return subvol;
}

btrfsTest('an import past the storage\'s quota is StorageFullError (EDQUOT) and leaves nothing behind', async (t) => {
  const path = await quotaLimitedDir(t, 8 * MiB);
  const kernel = await createTestKernel(t, { plugins: [storageFlatPlugin] });
  await kernel.storage.add('flat', 'flatdir', { path }, { caller: ROOT_CALLER });

  const data = Buffer.alloc(32 * MiB, 0x5c); // 32 MiB of real data into 8 MiB of quota
  const err = await t.throwsAsync(kernel.storage.importVolume({ storage: 'flat', vmid: 100, format: 'raw+size', stream: rawSizeStream(32 * MiB, 0, data) }), {
    instanceOf: StorageFullError,
    code: ErrorCodes.storageFull,
  });
  t.is(err?.storage, 'flat');
  t.is((err?.cause as NodeJS.ErrnoException | undefined)?.errno, -122, 'the cause is the kernel\'s EDQUOT');
  t.deepEqual(await kernel.storage.listVolumes('flat'), [], 'the partial image was removed');

  // Within the quota, the same storage works.
  const volid = await kernel.storage.importVolume({ storage: 'flat', vmid: 100, format: 'raw+size', stream: rawSizeStream(32 * MiB, 0, Buffer.alloc(2 * MiB, 0x5c)) });
  t.is(volid, 'flat:100/vm-100-disk-0.raw');
});

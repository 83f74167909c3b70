/**
 * One zfs-fuse test pool per test file: `useZfsTestPool(test)` registers `before`/`after.always`
 * hooks and returns a getter; also the file's `realTest` registrar.
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { rm } from 'node:fs/promises';
import { hasProgram, makeTempDir, realTest, type RealTestFn } from '@corral/core/testing';
import { createZfsTestPool, ZFS_TEST_PROGRAMS, type ZfsTestPool } from './ZfsTestPool.js';

/** True when zfs-fuse's programs are installed. */
export const zfsAvailable = ZFS_TEST_PROGRAMS.every((p) => hasProgram(p));

/** Test registrar for tests needing zfs-fuse (skip locally, fail in CI when it is missing). */
export function zfsRealTest(test: TestFn): RealTestFn {
  return realTest(test, zfsAvailable, `needs ${ZFS_TEST_PROGRAMS.join(', ')} (Debian package zfs-fuse)`);
}

/**
 * Registers hooks creating a pool of `sizeBytes` (default 256 MiB) before the file's tests
 * and destroying it after them. The getter throws when the pool is not there.
 */
export function useZfsTestPool(test: TestFn, options: { sizeBytes?: number } = {}): () => ZfsTestPool {
  let pool: ZfsTestPool | undefined;
  let dir: string | undefined;
  test.before(async () => {
    if (!zfsAvailable) return;
    dir = await makeTempDir(undefined, 'corral-zfs-');
    pool = await createZfsTestPool({ dir, sizeBytes: options.sizeBytes });
  });
  test.after.always(async () => {
    await pool?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!pool) throw new Error('the zfs test pool was not created');
    return pool;
  };
}

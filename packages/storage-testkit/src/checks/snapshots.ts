import { ErrorCodes } from '@corral/core';
import type { ConformanceEnv } from '../ConformanceEnv.js';
import { hasPattern, MiB, writePattern } from '../volumeBytes.js';
import { notApplicable, volnameOf } from './allocation.js';

/**
 * For every image format with the `snapshot` feature: a snapshot keeps the bytes of its time,
 * rollback brings them back, delete removes it. Formats without it answer NotSupportedError.
 */
export async function checkSnapshots(env: ConformanceEnv): Promise<void> {
  const { t, storage } = env;
  if (env.imageFormats.length === 0) return notApplicable(env, 'no image format is tested', true);
  for (const format of env.imageFormats) {
    const volid = await env.allocImage(format, { sizeBytes: 8 * MiB });
    if (!env.has('snapshot', 'current', format)) {
      await env.assertRefused(() => storage.snapshotCreate(volid, 'snap1'), { feature: 'snapshot', state: 'current', format, method: 'snapshotCreate', volname: volnameOf(volid) });
      await storage.free(volid);
      continue;
    }
    const a = { offset: 0, length: MiB, byte: 0xa1 };
    const b = { offset: 0, length: MiB, byte: 0xb2 };
    const tail = { offset: 5 * MiB, length: MiB, byte: 0xc3 };
    let access = await env.access(volid);
    await writePattern(env.runner, access, a);
    await env.release(volid);

    await storage.snapshotCreate(volid, 'snap1');
    const snaps = await storage.snapshotList(volid);
    t.truthy(snaps.find((s) => s.name === 'snap1'), `${format}: snapshotList has snap1 (got ${JSON.stringify(snaps)})`);
    await t.throwsAsync(storage.snapshotCreate(volid, '1-bad name'), { code: ErrorCodes.invalidArgument }, `${format}: bad snapshot name`);

    access = await env.access(volid);
    await writePattern(env.runner, access, b);
    await writePattern(env.runner, access, tail);
    t.true(await hasPattern(env.runner, access, b), `${format}: new bytes written after the snapshot`);
    await env.release(volid);

    if (env.has('rollback', 'snapshot', format)) {
      await storage.snapshotRollback(volid, 'snap1');
      access = await env.access(volid);
      t.true(await hasPattern(env.runner, access, a), `${format}: rollback restores the bytes of the snapshot`);
      t.true(await hasPattern(env.runner, access, { offset: 5 * MiB, length: MiB, byte: 0 }), `${format}: rollback undoes writes made after the snapshot`);
      await env.release(volid);
    } else {
      await env.assertRefused(() => storage.snapshotRollback(volid, 'snap1'), { feature: 'rollback', state: 'snapshot', format, method: 'snapshotRollback', volname: volnameOf(volid) });
    }

    await storage.snapshotCreate(volid, 'snap2');
    t.deepEqual(
      (await storage.snapshotList(volid)).map((s) => s.name).filter((n) => n === 'snap1' || n === 'snap2').sort(),
      ['snap1', 'snap2'],
      `${format}: both snapshots are listed`,
    );
    await storage.snapshotDelete(volid, 'snap2');
    await storage.snapshotDelete(volid, 'snap1');
    const after = await storage.snapshotList(volid);
    t.false(after.some((s) => s.name === 'snap1' || s.name === 'snap2'), `${format}: deleted snapshots are gone (got ${JSON.stringify(after)})`);
    access = await env.access(volid);
    t.true(await hasPattern(env.runner, access, env.has('rollback', 'snapshot', format) ? a : b), `${format}: deleting snapshots keeps the current bytes`);
    await env.release(volid);
    await storage.free(volid);
  }
  await env.assertClean();
}

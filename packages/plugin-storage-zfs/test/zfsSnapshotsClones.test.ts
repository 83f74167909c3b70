import test from 'ava';
import { readFile, writeFile, mkdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, type VolumeAccess } from '@corral/core';
import type { TestKernel } from '@corral/core/testing';
import { useZfsTestPool, zfsRealTest } from './support/zfsTestPoolFixture.js';
import { createZfsTestStorage } from './support/zfsTestStorage.js';
import { runToolOk } from '@corral/core/testing';

const zfsTest = zfsRealTest(test);
const pool = useZfsTestPool(test);
const MiB = 1024 * 1024;

async function dirOf(kernel: TestKernel, volid: string): Promise<string> {
  const a: VolumeAccess = await kernel.storage.resolve(volid, { consumer: 'container' });
  if (a.kind !== 'directory') throw new Error(`expected a directory, got ${a.kind}`);
  return a.path;
}

async function put(kernel: TestKernel, volid: string, rel: string, text: string): Promise<void> {
  const p = join(await dirOf(kernel, volid), rel);
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, text);
}

async function get(kernel: TestKernel, volid: string, rel: string): Promise<string | undefined> {
  return readFile(join(await dirOf(kernel, volid), rel), 'utf8').catch(() => undefined);
}

zfsTest('rollback restores files and the refquota recorded on the snapshot; only the newest snapshot can be rolled back to', async (t) => {
  const { kernel, storageId, dataset } = await createZfsTestStorage(t, pool().pool);
  const volid = await kernel.storage.allocate({ storage: storageId, vmid: 200, sizeBytes: 64 * MiB, format: 'subvol', content: 'rootdir' });
  t.is(volid, `${storageId}:subvol-200-disk-0`);
  await put(kernel, volid, 'etc/hostname', 'before\n');
  await kernel.storage.snapshotCreate(volid, 'snap1');
  const recorded = await runToolOk(['zfs', 'get', '-H', '-o', 'value', 'pve-storage:refquota', `${dataset}/subvol-200-disk-0@snap1`]);
  t.is(recorded.stdout.trim(), String(64 * MiB), "refquota is recorded in Proxmox's user property");

  await put(kernel, volid, 'etc/hostname', 'after\n');
  await put(kernel, volid, 'new-file', 'x');
  await kernel.storage.resize(volid, { sizeBytes: 128 * MiB });
  t.is((await kernel.storage.volumeInfo(volid)).sizeBytes, 128 * MiB);

  await kernel.storage.snapshotRollback(volid, 'snap1');
  t.is(await get(kernel, volid, 'etc/hostname'), 'before\n', 'file content is back');
  t.is(await get(kernel, volid, 'new-file'), undefined, 'file created after the snapshot is gone');
  t.is((await kernel.storage.volumeInfo(volid)).sizeBytes, 64 * MiB, 'refquota is back');

  await kernel.storage.snapshotCreate(volid, 'snap2');
  t.deepEqual((await kernel.storage.snapshotList(volid)).map((s) => s.name), ['snap1', 'snap2'], 'oldest first');
  await t.throwsAsync(kernel.storage.snapshotRollback(volid, 'snap1'), { code: ErrorCodes.conflict }, 'snap1 is not the newest');
  await t.throwsAsync(kernel.storage.snapshotCreate(volid, 'snap2'), { code: ErrorCodes.alreadyExists });
  await t.throwsAsync(kernel.storage.snapshotRollback(volid, 'nosuch'), { code: ErrorCodes.notFound });
  await t.throwsAsync(kernel.storage.snapshotDelete(volid, 'nosuch'), { code: ErrorCodes.notFound });
  await kernel.storage.snapshotDelete(volid, 'snap2');
  await kernel.storage.snapshotRollback(volid, 'snap1');
  await kernel.storage.free(volid);
  t.deepEqual(await kernel.storage.listVolumes(storageId), []);
});

zfsTest('a subvol template and its linked clones are independent; a base with clones cannot be freed', async (t) => {
  const { kernel, storageId, dataset } = await createZfsTestStorage(t, pool().pool);
  const vol = await kernel.storage.allocate({ storage: storageId, vmid: 300, sizeBytes: 32 * MiB, format: 'subvol', content: 'rootdir' });
  await put(kernel, vol, 'etc/os-release', 'template\n');
  const base = await kernel.storage.createBase(vol);
  t.is(base, `${storageId}:basevol-300-disk-0`);
  await t.throwsAsync(kernel.storage.volumeInfo(vol), { code: ErrorCodes.notFound }, 'the old name is gone');
  const baseInfo = await kernel.storage.volumeInfo(base);
  t.true(baseInfo.isBase);
  t.is(baseInfo.sizeBytes, 32 * MiB);
  t.is(await get(kernel, base, 'etc/os-release'), 'template\n', 'the renamed base is mounted and keeps its files');
  t.deepEqual(await kernel.storage.snapshotList(base), [], '__base__ is internal');
  const snaps = await runToolOk(['zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', '-r', `${dataset}/basevol-300-disk-0`]);
  t.is(snaps.stdout.trim(), `${dataset}/basevol-300-disk-0@__base__`);

  const a = await kernel.storage.cloneLinked(base, { vmid: 301 });
  const b = await kernel.storage.cloneLinked(base, { vmid: 302 });
  t.is(a, `${storageId}:basevol-300-disk-0/subvol-301-disk-0`);
  t.is(b, `${storageId}:basevol-300-disk-0/subvol-302-disk-0`);
  const ainfo = await kernel.storage.volumeInfo(a);
  t.is(ainfo.parent, base);
  t.is(ainfo.sizeBytes, 32 * MiB, "a clone gets the base's refquota");
  t.is(ainfo.format, 'subvol');
  t.deepEqual((await kernel.storage.listVolumes(storageId, { vmid: 301 })).map((v) => v.volid), [a]);

  t.is(await get(kernel, a, 'etc/os-release'), 'template\n');
  await put(kernel, a, 'etc/os-release', 'clone a\n');
  t.is(await get(kernel, b, 'etc/os-release'), 'template\n', 'writing clone a leaves clone b alone');
  t.is(await get(kernel, base, 'etc/os-release'), 'template\n', 'writing clone a leaves the base alone');

  await t.throwsAsync(kernel.storage.free(base), { code: ErrorCodes.conflict });
  t.is((await kernel.storage.volumeInfo(base)).volid, base, 'base survives');

  // Clone of a snapshot of a clone: the snapshot's state, named without a base prefix.
  await kernel.storage.snapshotCreate(a, 'before');
  await put(kernel, a, 'etc/os-release', 'changed after snapshot\n');
  const c = await kernel.storage.cloneLinked(a, { vmid: 303, snapshot: 'before' });
  t.is(c, `${storageId}:subvol-303-disk-0`);
  t.is(await get(kernel, c, 'etc/os-release'), 'clone a\n');
  await t.throwsAsync(kernel.storage.snapshotDelete(a, 'before'), { code: ErrorCodes.conflict }, 'a snapshot with a clone cannot be deleted');

  for (const v of [c, a, b, base]) await kernel.storage.free(v);
  t.deepEqual(await kernel.storage.listVolumes(storageId), []);
  await t.throwsAsync(access(join(await runToolOk(['zfs', 'get', '-H', '-o', 'value', 'mountpoint', dataset]).then((r) => r.stdout.trim()), 'basevol-300-disk-0', 'etc')));
});

zfsTest('resize through refquota is enforced by ZFS', async (t) => {
  const { kernel, storageId, dataset } = await createZfsTestStorage(t, pool().pool);
  const volid = await kernel.storage.allocate({ storage: storageId, vmid: 400, sizeBytes: 8 * MiB, format: 'subvol', content: 'rootdir' });
  const dir = await dirOf(kernel, volid);
  const data = Buffer.alloc(12 * MiB, 0x5a);
  const err = await t.throwsAsync(writeFile(join(dir, 'big'), data), undefined, 'writing past the quota fails');
  // EDQUOT is errno 122 on Linux (node has no name for it through FUSE: "Unknown system error -122").
  t.true([-122, -28].includes((err as NodeJS.ErrnoException | undefined)?.errno ?? 0), `quota error EDQUOT/ENOSPC (${String(err)})`);
  await kernel.storage.resize(volid, { sizeBytes: 32 * MiB });
  const q = await runToolOk(['zfs', 'get', '-Hp', '-o', 'value', 'refquota', `${dataset}/subvol-400-disk-0`]);
  t.is(q.stdout.trim(), String(32 * MiB), 'refquota set in bytes');
  await writeFile(join(dir, 'big'), data);
  t.is((await readFile(join(dir, 'big'))).length, 12 * MiB);
  t.is((await kernel.storage.volumeInfo(volid)).sizeBytes, 32 * MiB);
  await t.throwsAsync(kernel.storage.resize(volid, { sizeBytes: 16 * MiB }), { code: ErrorCodes.notSupported }, 'no shrink');
  await kernel.storage.free(volid);
});

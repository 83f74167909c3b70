import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ErrorCodes, type TransferFormat, type VolumeAccess } from '@corral/core';
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

async function exportToBuffer(kernel: TestKernel, volid: string, format: TransferFormat, snapshot?: string): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((res, rej) => stream.on('end', res).on('error', rej));
  await kernel.storage.exportVolume(volid, { format, stream, snapshot });
  await ended;
  return Buffer.concat(chunks);
}

/** A subvol with a few files (one of 1 MiB of random-ish bytes) and a 48 MiB quota. */
async function sampleSubvol(kernel: TestKernel, storageId: string, vmid: number): Promise<{ volid: string; blob: Buffer }> {
  const volid = await kernel.storage.allocate({ storage: storageId, vmid, sizeBytes: 48 * MiB, format: 'subvol', content: 'rootdir' });
  const dir = await dirOf(kernel, volid);
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc/hostname'), 'ct-one\n');
  const blob = Buffer.alloc(MiB);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) & 0xff;
  await writeFile(join(dir, 'blob.bin'), blob);
  return { volid, blob };
}

for (const format of ['zfs', 'tar+size'] as const) {
  zfsTest(`${format}: export and import round trip between two zfspool storages keeps files and quota`, async (t) => {
    const src = await createZfsTestStorage(t, pool().pool, { storageId: 'src' });
    const dst = await createZfsTestStorage(t, pool().pool, { storageId: 'dst' });
    const { volid, blob } = await sampleSubvol(src.kernel, src.storageId, 500);
    await src.kernel.storage.snapshotCreate(volid, 'keep');
    await writeFile(join(await dirOf(src.kernel, volid), 'etc/hostname'), 'changed\n');

    const data = await exportToBuffer(src.kernel, volid, format);
    if (format === 'tar+size') t.is(Number(data.readBigUInt64LE(0)), 48 * MiB, 'tar+size header holds the refquota');
    const imported = await dst.kernel.storage.importVolume({ storage: dst.storageId, vmid: 501, format, stream: Readable.from([data]), content: 'rootdir', volumeFormat: 'subvol' });
    t.is(imported, `${dst.storageId}:subvol-501-disk-0`);
    const dir = await dirOf(dst.kernel, imported);
    t.is(await readFile(join(dir, 'etc/hostname'), 'utf8'), 'changed\n', 'current state, not the snapshot');
    t.true((await readFile(join(dir, 'blob.bin'))).equals(blob));
    const info = await dst.kernel.storage.volumeInfo(imported);
    t.is(info.sizeBytes, 48 * MiB, 'quota carried over');
    t.deepEqual(await dst.kernel.storage.snapshotList(imported), [], 'an import starts without snapshots');
    const names = await runToolOk(['zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', '-r', dst.dataset]);
    t.is(names.stdout.trim(), '', 'no snapshot came along');
    const srcSnaps = await runToolOk(['zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', '-r', src.dataset]);
    t.is(srcSnaps.stdout.trim(), `${src.dataset}/subvol-500-disk-0@keep`, 'the temporary export snapshot is gone');

    // A snapshot exports its own state (zfs: that snapshot; tar+size: through a temporary clone).
    const old = await exportToBuffer(src.kernel, volid, format, 'keep');
    const fromSnap = await dst.kernel.storage.importVolume({ storage: dst.storageId, vmid: 502, format, stream: Readable.from([old]), content: 'rootdir', volumeFormat: 'subvol' });
    t.is(await readFile(join(await dirOf(dst.kernel, fromSnap), 'etc/hostname'), 'utf8'), 'ct-one\n');
    t.deepEqual((await src.kernel.storage.listVolumes(src.storageId)).map((v) => v.volid), [volid], 'no temporary clone is left');

    await t.throwsAsync(
      dst.kernel.storage.importVolume({ storage: dst.storageId, vmid: 501, name: 'subvol-501-disk-0', format, stream: Readable.from([data]), content: 'rootdir', volumeFormat: 'subvol' }),
      { code: ErrorCodes.alreadyExists },
    );
    const truncated = data.subarray(0, Math.floor(data.length / 2));
    await t.throwsAsync(dst.kernel.storage.importVolume({ storage: dst.storageId, vmid: 503, format, stream: Readable.from([truncated]), content: 'rootdir', volumeFormat: 'subvol' }));
    t.deepEqual((await dst.kernel.storage.listVolumes(dst.storageId, { vmid: 503 })).map((v) => v.volid), [], 'a failed import leaves nothing');
    await t.throwsAsync(exportToBuffer(src.kernel, volid, 'raw+size'), { code: ErrorCodes.notSupported }, 'a subvol has no raw+size');
    for (const v of [imported, fromSnap]) await dst.kernel.storage.free(v);
    await src.kernel.storage.free(volid);
  });
}

zfsTest('copy of a subvol and of a linked clone within the storage goes through a zfs stream', async (t) => {
  const { kernel, storageId } = await createZfsTestStorage(t, pool().pool);
  const { volid, blob } = await sampleSubvol(kernel, storageId, 600);
  const base = await kernel.storage.createBase(volid);
  const clone = await kernel.storage.cloneLinked(base, { vmid: 601 });
  const copy = await kernel.storage.copy(clone, { targetStorage: storageId, vmid: 602 });
  t.is(copy, `${storageId}:subvol-602-disk-0`);
  const info = await kernel.storage.volumeInfo(copy);
  t.is(info.parent, undefined, 'a full copy of a linked clone does not depend on the base');
  t.true((await readFile(join(await dirOf(kernel, copy), 'blob.bin'))).equals(blob));
  for (const v of [copy, clone, base]) await kernel.storage.free(v);
  t.deepEqual(await kernel.storage.listVolumes(storageId), []);
});

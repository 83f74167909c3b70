import test from 'ava';
import { stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeCommandRunner } from '@corral/core';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { HEADER_CACHE_SETTLE_LOCAL_MS, HEADER_CACHE_SETTLE_MS, headerSettleMs, ImageHeaderCache } from '../src/ImageHeaderCache.js';
import { imageFileInfo, readQcow2Header } from '../src/imageFileInfo.js';

const qemuTest = realTest(test, hasProgram('qemu-img'), 'qemu-utils (qemu-img) is not installed');
const runner = new NodeCommandRunner();
/** A `statStartedMs` far enough after now that any file counts as settled. */
const later = () => Date.now() + 60_000;

qemuTest('a cached header is returned while the file is unchanged and dropped once it changes', async (t) => {
  const dir = await makeTempDir(t, 'corral-hdrcache-');
  const file = join(dir, 'vm-100-disk-0.qcow2');
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', file, String(1 << 20)]);
  const cache = new ImageHeaderCache();
  const st = await stat(file);
  cache.set(file, st, await readQcow2Header(file), { statStartedMs: later() });
  t.deepEqual(cache.get(file, await stat(file)), { sizeBytes: 1 << 20 });
  await runner.run(['qemu-img', 'resize', '-f', 'qcow2', file, String(2 << 20)]);
  t.is(cache.get(file, await stat(file)), undefined, 'a resized image misses');
  t.is(cache.size, 0, 'the stale entry is dropped');
});

qemuTest('a file changed within the settle time is not cached', async (t) => {
  const dir = await makeTempDir(t, 'corral-hdrcache-');
  const file = join(dir, 'vm-100-disk-0.qcow2');
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', file, String(1 << 20)]);
  const cache = new ImageHeaderCache();
  const st = await stat(file);
  // The stat starts the moment the file changed: well within the settle time, however slow the machine.
  cache.set(file, st, await readQcow2Header(file), { statStartedMs: st.ctimeMs, settleMs: HEADER_CACHE_SETTLE_MS });
  t.is(cache.size, 0);
  t.is(cache.get(file, await stat(file)), undefined);
});

qemuTest('imageFileInfo with a cache sees a resize and a rebase made after the first read', async (t) => {
  const dir = await makeTempDir(t, 'corral-hdrcache-');
  const base = join(dir, 'base.qcow2');
  const file = join(dir, 'vm-100-disk-0.qcow2');
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', base, String(1 << 20)]);
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', file, String(1 << 20)]);
  const headerCache = new ImageHeaderCache();
  // A negative settle time caches even this fresh file, the worst case for staleness.
  const opts = { headerCache, headerSettleMs: -60_000 };
  t.like(await imageFileInfo(runner, file, 'qcow2', opts), { sizeBytes: 1 << 20, backingFile: undefined });
  t.is(headerCache.size, 1);
  t.like(await imageFileInfo(runner, file, 'qcow2', opts), { sizeBytes: 1 << 20 });
  await runner.run(['qemu-img', 'resize', '-f', 'qcow2', file, String(3 << 20)]);
  t.like(await imageFileInfo(runner, file, 'qcow2', opts), { sizeBytes: 3 << 20 });
  await runner.run(['qemu-img', 'rebase', '-u', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', file]);
  t.like(await imageFileInfo(runner, file, 'qcow2', opts), { sizeBytes: 3 << 20, backingFile: 'base.qcow2' });
});

test('readQcow2Header reads a backing name lying beyond its first read', async (t) => {
  const dir = await makeTempDir(t, 'corral-hdrcache-');
  const file = join(dir, 'far.qcow2');
  const name = '../100/base-100-disk-0.qcow2';
  const img = Buffer.alloc(8192);
  img.writeUInt32BE(0x514649fb, 0); // magic
  img.writeUInt32BE(3, 4); // version
  img.writeBigUInt64BE(5000n, 8); // backing_file_offset
  img.writeUInt32BE(name.length, 16); // backing_file_size
  img.writeBigUInt64BE(BigInt(5 << 20), 24); // size
  img.write(name, 5000, 'utf8');
  await writeFile(file, img);
  t.deepEqual(await readQcow2Header(file), { sizeBytes: 5 << 20, backingFile: name });
  img.writeBigUInt64BE(104n, 8);
  img.write(name, 104, 'utf8');
  await writeFile(file, img);
  t.deepEqual(await readQcow2Header(file), { sizeBytes: 5 << 20, backingFile: name });
});

test('the cache is bounded, oldest entries first', async (t) => {
  const dir = await makeTempDir(t, 'corral-hdrcache-');
  const cache = new ImageHeaderCache(2);
  const files = ['a', 'b', 'c'].map((n) => join(dir, n));
  for (const f of files) await writeFile(f, f);
  for (const f of files) cache.set(f, await stat(f), { sizeBytes: 1 }, { statStartedMs: later() });
  t.is(cache.size, 2);
  t.is(cache.get(files[0]!, await stat(files[0]!)), undefined);
  t.deepEqual(cache.get(files[2]!, await stat(files[2]!)), { sizeBytes: 1 });
});

test('headerSettleMs: the long settle time unless the filesystem is known local', async (t) => {
  const dir = await makeTempDir(t, 'corral-hdrcache-');
  t.true([HEADER_CACHE_SETTLE_LOCAL_MS, HEADER_CACHE_SETTLE_MS].includes(await headerSettleMs(dir)));
  t.is(await headerSettleMs(join(dir, 'missing')), HEADER_CACHE_SETTLE_MS);
  const tmpfs = 0x01021994;
  if ((await statfs('/dev/shm').catch(() => undefined))?.type === tmpfs) t.is(await headerSettleMs('/dev/shm'), HEADER_CACHE_SETTLE_LOCAL_MS, 'tmpfs is local');
});

import test, { type ExecutionContext } from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, NodeCommandRunner, type StorageFullError, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, requireReal, SeededRandom } from '@corral/core/testing';
import { bufferStream, collectStream, sizeHeader } from '@corral/storage-testkit';
import { storageDirPlugin } from '../src/index.js';

// Real ENOSPC: the storage lives on an 8 MiB tmpfs mounted by the test (root only).
const runner = new NodeCommandRunner();
const MiB = 1024 * 1024;

async function smallStorage(t: ExecutionContext, options: Record<string, string> = {}) {
  const dir = await makeTempDir(t, 'corral-full-');
  const mounted = await runner.run(['mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir]).then(
    () => true,
    (err: Error) => (t.log(`mount failed: ${err.message}`), false),
  );
  if (!requireReal(t, mounted, 'cannot mount a tmpfs (needs root)')) return undefined;
  t.teardown(() => runner.run(['umount', dir]));
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  await kernel.storage.add('tiny', 'dir', { path: dir, content: 'images,rootdir,iso', ...options }, { caller: ROOT_CALLER });
  return { storage: kernel.storage, dir };
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test('importing more bytes than fit is StorageFullError and leaves nothing behind (raw and qcow2 via qemu-nbd)', async (t) => {
  if (!requireReal(t, ['qemu-img', 'qemu-nbd'].every(hasProgram), 'qemu-utils is not installed')) return;
  const s = await smallStorage(t);
  if (!s) return;
  const payload = Buffer.concat([sizeHeader(16 * MiB), new SeededRandom(1).bytes(16 * MiB)]);
  for (const volumeFormat of ['raw', 'qcow2'] as const) {
    const err = await t.throwsAsync<StorageFullError>(
      s.storage.importVolume({ storage: 'tiny', vmid: 100, format: 'raw+size', stream: bufferStream(payload), volumeFormat }),
      { code: ErrorCodes.storageFull },
      volumeFormat,
    );
    t.is(err?.storage, 'tiny');
    t.is(err?.requestedBytes, 16 * MiB);
    t.deepEqual(await s.storage.listVolumes('tiny', { vmid: 100 }), [], `${volumeFormat}: no volume left`);
  }
  t.deepEqual((await filesUnder(join(s.dir, 'images'))), [], 'no files left in images/');
});

test('a fully preallocated image larger than the free space is StorageFullError', async (t) => {
  if (!requireReal(t, hasProgram('qemu-img'), 'qemu-img is not installed')) return;
  const s = await smallStorage(t, { preallocation: 'full' });
  if (!s) return;
  await t.throwsAsync(s.storage.allocate({ storage: 'tiny', vmid: 100, sizeBytes: 32 * MiB }), { code: ErrorCodes.storageFull });
  t.deepEqual(await filesUnder(join(s.dir, 'images')), []);
});

test('an upload larger than the free space is StorageFullError without temporary files left', async (t) => {
  const s = await smallStorage(t);
  if (!s) return;
  await t.throwsAsync(
    s.storage.upload({ storage: 'tiny', content: 'iso', filename: 'big.iso', stream: bufferStream(new SeededRandom(1).bytes(16 * MiB)) }),
    { code: ErrorCodes.storageFull },
  );
  t.deepEqual(await filesUnder(join(s.dir, 'template/iso')), []);
});

test('a subvol tar+size import that does not fit is StorageFullError and removed', async (t) => {
  if (!requireReal(t, hasProgram('tar'), 'tar is not installed')) return;
  const s = await smallStorage(t);
  if (!s) return;
  const work = await makeTempDir(t);
  await runner.run(['dd', 'if=/dev/urandom', `of=${join(work, 'blob')}`, 'bs=1M', 'count=12'], {});
  const tar = collectStream();
  await runner.run(['tar', '-cf', '-', '-C', work, '.'], { stdoutStream: tar.stream });
  const stream = bufferStream(Buffer.concat([sizeHeader(0), await tar.done]));
  await t.throwsAsync(
    s.storage.importVolume({ storage: 'tiny', vmid: 100, format: 'tar+size', stream, content: 'rootdir', volumeFormat: 'subvol' }),
    { code: ErrorCodes.storageFull },
  );
  t.deepEqual(await filesUnder(join(s.dir, 'images')), []);
});

import test from 'ava';
import { Readable } from 'node:stream';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir, SeededRandom } from '@corral/core/testing';
import { storageZfsPlugin } from '../src/index.js';
import { createZfsTestPool } from './support/ZfsTestPool.js';
import { useZfsTestPool, zfsRealTest } from './support/zfsTestPoolFixture.js';
import { createZfsTestStorage } from './support/zfsTestStorage.js';
import { runTool } from '@corral/core/testing';

const zfsTest = zfsRealTest(test);
const pool = useZfsTestPool(test);
const MiB = 1024 * 1024;

zfsTest('bad definitions are refused with InvalidConfigError naming the option, and leave no trace', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageZfsPlugin] });
  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ['no pool', { content: 'rootdir' }, 'pool', /option 'pool' is required/],
    ['unknown option', { pool: pool().pool, compression: 'lz4' }, 'compression', /option 'compression' is not known for type 'zfspool'/],
    ['bad blocksize', { pool: pool().pool, blocksize: '3k' }, 'blocksize', /not a valid ZFS blocksize/],
    ['content it cannot hold', { pool: pool().pool, content: 'iso' }, 'content', /cannot hold content 'iso'/],
    ['pool that does not exist', { pool: 'nosuchpool/data' }, 'pool', /zfs pool 'nosuchpool' does not exist or is not imported/],
    ['dataset that does not exist', { pool: `${pool().pool}/nosuch` }, 'pool', /dataset '.*\/nosuch' does not exist in zfs pool/],
  ];
  for (const [what, options, key, message] of cases) {
    const err = await t.throwsAsync(kernel.storage.add('bad', 'zfspool', options, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig, message }, what);
    t.is((err as { key?: string } | undefined)?.key, key, `${what}: names '${key}'`);
  }
  t.deepEqual(await kernel.storage.list(), [], 'nothing was written to storage.cfg');
  await t.throwsAsync(kernel.storage.add('bad', 'zfs', { pool: pool().pool }, { caller: ROOT_CALLER }), {
    code: ErrorCodes.invalidConfig,
    message: /unknown storage type 'zfs'/,
  });
});

zfsTest('an unknown storage id is NotFoundError', async (t) => {
  const { kernel } = await createZfsTestStorage(t, pool().pool);
  for (const p of [
    kernel.storage.listVolumes('nope'),
    kernel.storage.volumeInfo('nope:subvol-100-disk-0'),
    kernel.storage.allocate({ storage: 'nope', vmid: 100, sizeBytes: 0, format: 'subvol', content: 'rootdir' }),
    kernel.storage.status('nope'),
  ]) {
    await t.throwsAsync(p, { code: ErrorCodes.notFound });
  }
});

zfsTest('zvols: allocating a raw volume on zfs-fuse is NotSupportedError and leaves nothing', async (t) => {
  const { kernel, storageId, dataset } = await createZfsTestStorage(t, pool().pool);
  const err = await t.throwsAsync(kernel.storage.allocate({ storage: storageId, vmid: 700, sizeBytes: 16 * MiB, format: 'raw' }), {
    code: ErrorCodes.notSupported,
    message: /cannot create zvols/,
  });
  t.log(err?.message);
  t.deepEqual(await kernel.storage.listVolumes(storageId), []);
  const left = await runTool(['zfs', 'list', '-H', '-o', 'name', '-r', dataset]);
  t.is(left.stdout.trim(), dataset, 'no dataset was left behind');
  const sub = await kernel.storage.allocate({ storage: storageId, vmid: 700, sizeBytes: 0, format: 'subvol', content: 'rootdir' });
  await t.throwsAsync(kernel.storage.resolve(sub, { consumer: 'qemu' }), { code: ErrorCodes.notSupported }, 'a subvol is no VM disk');
  await t.throwsAsync(kernel.storage.resolve(sub, { consumer: 'container', snapshot: 'x1' }), { code: ErrorCodes.notSupported });
  await kernel.storage.free(sub);
});

zfsTest('a storage whose pool went away: operations are UnavailableError naming it, status is inactive', async (t) => {
  const dir = await makeTempDir(t, 'corral-zfsgone-');
  const gone = await createZfsTestPool({ dir, sizeBytes: 64 * MiB });
  t.teardown(() => gone.destroy());
  const kernel = await createTestKernel(t, { plugins: [storageZfsPlugin] });
  await kernel.storage.add('gone', 'zfspool', { pool: gone.pool, content: 'rootdir' }, { caller: ROOT_CALLER });
  t.true((await kernel.storage.status('gone')).active);
  await gone.destroy();
  await t.throwsAsync(kernel.storage.listVolumes('gone'), { code: ErrorCodes.unavailable, message: new RegExp(`zfs pool '${gone.pool}' is not imported and could not be imported`) });
  await t.throwsAsync(kernel.storage.allocate({ storage: 'gone', vmid: 100, sizeBytes: 0, format: 'subvol', content: 'rootdir' }), { code: ErrorCodes.unavailable });
  const status = await kernel.storage.status('gone');
  t.false(status.active);
  t.is(status.totalBytes, 0);

  const sub = await createZfsTestStorage(t, pool().pool, { storageId: 'sub' });
  await sub.destroy();
  await t.throwsAsync(sub.kernel.storage.listVolumes('sub'), { code: ErrorCodes.unavailable, message: /dataset '.*' does not exist in pool/ });
});

zfsTest('a full pool: a bigger allocation is StorageFullError and an import that runs out of space leaves nothing', async (t) => {
  const dir = await makeTempDir(t, 'corral-zfsfull-');
  const small = await createZfsTestPool({ dir, sizeBytes: 64 * MiB });
  t.teardown(() => small.destroy());
  const kernel = await createTestKernel(t, { plugins: [storageZfsPlugin] });
  await kernel.storage.add('small', 'zfspool', { pool: small.pool, content: 'rootdir,images' }, { caller: ROOT_CALLER });
  const status = await kernel.storage.status('small');
  t.log(`64 MiB pool: ${status.availableBytes} bytes available`);
  const err = await t.throwsAsync(kernel.storage.allocate({ storage: 'small', vmid: 800, sizeBytes: 64 * MiB, format: 'subvol', content: 'rootdir' }), {
    code: ErrorCodes.storageFull,
  });
  t.is((err as { requestedBytes?: number } | undefined)?.requestedBytes, 64 * MiB);
  t.deepEqual(await kernel.storage.listVolumes('small'), [], 'nothing allocated');

  // A tar+size stream with 48 MiB of incompressible data into a pool with about 28 MiB free.
  const { execFileSync } = await import('node:child_process');
  const src = await makeTempDir(t, 'corral-zfsfull-src-');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(`${src}/random.bin`, new SeededRandom(1).bytes(48 * MiB));
  const tar = execFileSync('tar', ['-cf', '-', '-C', src, '.'], { maxBuffer: 64 * MiB });
  const header = Buffer.alloc(8);
  const stream = Readable.from([header, tar]);
  await t.throwsAsync(kernel.storage.importVolume({ storage: 'small', vmid: 801, format: 'tar+size', stream, content: 'rootdir', volumeFormat: 'subvol' }), {
    code: ErrorCodes.storageFull,
  });
  t.deepEqual(await kernel.storage.listVolumes('small'), [], 'the failed import left nothing');
  const left = await runTool(['zfs', 'list', '-H', '-o', 'name', '-r', small.pool]);
  t.is(left.stdout.trim(), small.pool);
});

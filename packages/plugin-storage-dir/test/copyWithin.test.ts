/**
 * Full copies within one dir storage go through the driver's `copyVolume` hook (a reflink by
 * `cp --reflink=auto`, or `qemu-img convert`), not through export/import streams; the copy is
 * byte-identical and independent. A hook answering NotSupportedError makes the facade stream
 * instead; a hook failing otherwise leaves no volume behind.
 */
import test, { type ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { definePlugin, extensionPoints, NodeCommandRunner, NotSupportedError, ROOT_CALLER, type StorageContext, type CopyVolumeWithinOptions } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, RecordingCommandRunner, requireReal, SeededRandom } from '@corral/core/testing';
import { hasPattern, readMarkerFile, writeMarkerFile, writePattern } from '@corral/storage-testkit';
import { DirStorageDriver } from '../src/DirStorageDriver.js';
import { storageDirPlugin } from '../src/index.js';

const MiB = 1024 * 1024;
const real = new NodeCommandRunner();
const tools = ['qemu-img', 'qemu-nbd', 'cp'].every(hasProgram);

async function setup(t: ExecutionContext, plugin = storageDirPlugin) {
  const runner = new RecordingCommandRunner([], real);
  const kernel = await createTestKernel(t, { plugins: [plugin], commandRunner: runner });
  await kernel.storage.add('local', 'dir', { path: await makeTempDir(t, 'corral-dircopy-'), content: 'images,rootdir' }, { caller: ROOT_CALLER });
  return { kernel, storage: kernel.storage, runner };
}

function pathOf(access: { kind: string; path?: string }): string {
  if (!access.path) throw new Error(`no path in ${JSON.stringify(access)}`);
  return access.path;
}

test('a raw copy within the storage is one cp --reflink=auto, byte-identical and independent', async (t) => {
  if (!requireReal(t, tools, 'qemu-utils or coreutils missing')) return;
  const { storage, runner } = await setup(t);
  const src = await storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 8 * MiB, format: 'raw' });
  const srcPath = pathOf(await storage.resolve(src));
  const data = new SeededRandom(7).bytes(MiB);
  await writePattern(real, await storage.resolve(src), { offset: 6 * MiB, length: MiB, byte: 0x5c });
  const { open } = await import('node:fs/promises');
  const fh = await open(srcPath, 'r+');
  await fh.write(data, 0, MiB, 0);
  await fh.close();

  runner.calls.length = 0;
  const copy = await storage.copy(src, { targetStorage: 'local', vmid: 101 });
  t.is(copy, 'local:101/vm-101-disk-0.raw');
  const copyPath = pathOf(await storage.resolve(copy));
  t.deepEqual(
    runner.argvs.filter((a) => a[0] === 'cp'),
    [['cp', '--reflink=auto', '--', srcPath, copyPath]],
    'the copy is made by cp --reflink=auto',
  );
  t.false(runner.argvs.some((a) => a[0] === 'qemu-nbd'), 'no export/import stream');
  t.true((await readFile(copyPath)).equals(await readFile(srcPath)), 'the copy holds the same bytes');

  await writePattern(real, await storage.resolve(copy), { offset: 0, length: MiB, byte: 0x01 });
  t.true((await readFile(srcPath)).subarray(0, MiB).equals(data), 'writing the copy leaves the source alone');

  // A base is read-only; its copy is a writable volume of the new guest.
  const base = await storage.createBase(src);
  const fromBase = await storage.copy(base, { targetStorage: 'local', vmid: 102 });
  const fromBasePath = pathOf(await storage.resolve(fromBase));
  t.true((await readFile(fromBasePath)).equals(await readFile(pathOf(await storage.resolve(base)))), 'a copy of a base holds its bytes');
  await writePattern(real, await storage.resolve(fromBase), { offset: 0, length: MiB, byte: 0x02 });
  t.false((await storage.volumeInfo(fromBase)).isBase, 'a copy of a base is not a base');
  for (const v of [copy, fromBase, base]) await storage.free(v);
});

test('a qcow2 copy (current state, snapshot, linked clone) is a qemu-img convert and holds the right bytes', async (t) => {
  if (!requireReal(t, tools && hasProgram('qemu-io'), 'qemu-utils missing')) return;
  const { storage, runner } = await setup(t);
  const src = await storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 8 * MiB, format: 'qcow2' });
  const srcPath = pathOf(await storage.resolve(src));
  await writePattern(real, await storage.resolve(src), { offset: 0, length: MiB, byte: 0xa1 });
  await storage.snapshotCreate(src, 'snap1');
  await writePattern(real, await storage.resolve(src), { offset: 0, length: MiB, byte: 0xb2 });

  runner.calls.length = 0;
  const current = await storage.copy(src, { targetStorage: 'local', vmid: 101 });
  const currentPath = pathOf(await storage.resolve(current));
  t.deepEqual(
    runner.argvs.filter((a) => a[1] === 'convert'),
    [['qemu-img', 'convert', '-f', 'qcow2', '-O', 'qcow2', '-o', 'preallocation=metadata', srcPath, currentPath]],
  );
  t.false(runner.argvs.some((a) => a[0] === 'qemu-nbd'), 'no export/import stream');
  const compared = await real.run(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'qcow2', srcPath, currentPath], { okExitCodes: [0, 1] });
  t.is(compared.exitCode, 0, `qemu-img compare: ${compared.stdout}`);
  t.deepEqual(await storage.snapshotList(current), [], 'internal snapshots stay behind (as qemu-img convert in pve)');

  runner.calls.length = 0;
  const fromSnap = await storage.copy(src, { targetStorage: 'local', vmid: 102, snapshot: 'snap1' });
  t.true(runner.argvs.some((a) => a[1] === 'convert' && a.includes('snapshot.name=snap1')), 'the snapshot is read by qemu-img convert -l');
  t.true(await hasPattern(real, await storage.resolve(fromSnap), { offset: 0, length: MiB, byte: 0xa1 }), "a copy of a snapshot has the snapshot's bytes");

  await storage.snapshotDelete(src, 'snap1');
  const base = await storage.createBase(src);
  const clone = await storage.cloneLinked(base, { vmid: 103 });
  const flat = await storage.copy(clone, { targetStorage: 'local', vmid: 104 });
  t.is((await storage.volumeInfo(flat)).parent, undefined, 'a copy of a linked clone has no parent');
  t.true(await hasPattern(real, await storage.resolve(flat), { offset: 0, length: MiB, byte: 0xb2 }), 'and the bytes of its base');
  for (const v of [current, fromSnap, flat, clone, base]) await storage.free(v);
});

test('a subvol copy within the storage is cp -a --reflink=auto and keeps files and quota', async (t) => {
  if (!requireReal(t, tools, 'coreutils missing')) return;
  const { storage, runner } = await setup(t);
  const src = await storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 64 * MiB, format: 'subvol', content: 'rootdir' });
  await writeMarkerFile(await storage.resolve(src, { consumer: 'container' }), 'etc/hostname', 'ct100\n');
  runner.calls.length = 0;
  const copy = await storage.copy(src, { targetStorage: 'local', vmid: 101 });
  t.is(copy, 'local:101/subvol-101-disk-0.subvol');
  t.true(runner.argvs.some((a) => a[0] === 'cp' && a[1] === '-a' && a[2] === '--reflink=auto'), 'cp -a --reflink=auto');
  t.false(runner.argvs.some((a) => a[0] === 'tar'), 'no tar stream');
  t.is(await readMarkerFile(await storage.resolve(copy, { consumer: 'container' }), 'etc/hostname'), 'ct100\n');
  t.is((await storage.volumeInfo(copy)).sizeBytes, 64 * MiB, 'the quota is copied');
  for (const v of [copy, src]) await storage.free(v);
});

/** A dir driver whose same-storage copy hook behaves as `hook` says. */
function pluginWithHook(hook: (driver: DirStorageDriver, ctx: StorageContext, volname: string, options: CopyVolumeWithinOptions) => Promise<string>) {
  class HookedDir extends DirStorageDriver {
    override async copyVolume(ctx: StorageContext, volname: string, options: CopyVolumeWithinOptions): Promise<string> {
      return hook(this, ctx, volname, options);
    }
  }
  return definePlugin({
    id: 'test.storage-dir-hooked',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.storageDrivers, 'dir', new HookedDir());
    },
  });
}

test('a hook answering NotSupportedError makes the facade stream the copy', async (t) => {
  if (!requireReal(t, tools, 'qemu-utils missing')) return;
  let asked = 0;
  const plugin = pluginWithHook(async () => {
    asked++;
    throw new NotSupportedError('copy', 'not this one');
  });
  const { kernel, storage, runner } = await setup(t, plugin);
  const src = await storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 4 * MiB, format: 'raw' });
  await writePattern(real, await storage.resolve(src), { offset: MiB, length: MiB, byte: 0x77 });
  runner.calls.length = 0;
  const copy = await storage.copy(src, { targetStorage: 'local', vmid: 101 });
  t.is(asked, 1, 'the hook was asked');
  t.false(runner.argvs.some((a) => a[0] === 'cp'), 'no cp: the bytes were streamed');
  t.true(kernel.logger.lines.some((l) => l.message.includes('streaming it')), 'the fallback is logged');
  t.true((await readFile(pathOf(await storage.resolve(copy)))).equals(await readFile(pathOf(await storage.resolve(src)))), 'the streamed copy is identical');
  for (const v of [copy, src]) await storage.free(v);
});

test('a hook failing after it created the volume leaves no volume behind', async (t) => {
  if (!requireReal(t, tools, 'qemu-utils missing')) return;
  const plugin = pluginWithHook(async (driver, ctx, volname, options) => {
    await driver.allocate(ctx, { vmid: options.vmid, name: options.name, format: 'raw', sizeBytes: MiB, content: 'images' });
    throw new Error('disk on fire');
  });
  const { storage } = await setup(t, plugin);
  const src = await storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 4 * MiB, format: 'raw' });
  await t.throwsAsync(storage.copy(src, { targetStorage: 'local', vmid: 101 }), { message: 'disk on fire' });
  t.deepEqual(await storage.listVolumes('local', { vmid: 101 }), [], 'the partial copy was freed');
  await storage.free(src);
});

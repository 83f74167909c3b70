/**
 * btrfs-specific behaviour against a real btrfs filesystem on a loop device: Proxmox's
 * on-disk layout, read-only snapshots and bases, qgroup quotas as container sizes (enforced),
 * Proxmox btrfs streams with history, parents of linked clones, privileges of the options.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ErrorCodes, ROOT_CALLER, StorageFullError, unprivilegedCaller, type VolumeAccess } from '@corral/core';
import { createTestKernel, makeTempDir, realTest, runToolOk } from '@corral/core/testing';
import { storageBtrfsPlugin } from '../src/index.js';
import { btrfsTestsUnavailable, createBtrfsTestFilesystem, type BtrfsTestFilesystem } from './support/BtrfsTestFilesystem.js';

const MiB = 1024 * 1024;
const unavailable = btrfsTestsUnavailable();
const btrfsTest = realTest(test, unavailable === undefined, unavailable ?? '');

let fs: BtrfsTestFilesystem | undefined;
test.before(async () => {
  if (!unavailable) fs = await createBtrfsTestFilesystem();
});
test.after.always(async () => {
  await fs?.destroy();
});

/** A kernel with one btrfs storage `bt` in a fresh directory of the test filesystem. */
async function storage(t: ExecutionContext, options: Record<string, string> = {}) {
  const kernel = await createTestKernel(t, { plugins: [storageBtrfsPlugin] });
  const path = await mkdtemp(join(fs!.mountPoint, 'st-'));
  await kernel.storage.add('bt', 'btrfs', { path, content: 'images,rootdir', ...options }, { caller: ROOT_CALLER });
  return { kernel, path };
}

async function btrfs(...args: string[]): Promise<string> {
  return (await runToolOk(['btrfs', ...args])).stdout;
}

/** A subvolume's root directory has inode 256 (BTRFS_FIRST_FREE_OBJECTID), as btrfs-progs checks. */
async function isSubvolume(path: string): Promise<boolean> {
  const st = await stat(path);
  return st.isDirectory() && st.ino === 256;
}

function path(access: VolumeAccess): string {
  if (access.kind !== 'file' && access.kind !== 'directory') throw new Error(`unexpected access ${access.kind}`);
  return access.path;
}

btrfsTest('volumes, snapshots and bases are laid out as Proxmox does, snapshots and bases read-only', async (t) => {
  const { kernel, path: root } = await storage(t);
  const raw = await kernel.storage.allocate({ storage: 'bt', vmid: 100, sizeBytes: 4 * MiB });
  t.is(raw, 'bt:100/vm-100-disk-0.raw');
  t.true(await isSubvolume(join(root, 'images/100/vm-100-disk-0')), 'a raw image lives in its own subvolume');
  t.is((await stat(join(root, 'images/100/vm-100-disk-0/disk.raw'))).size, 4 * MiB);
  t.is(path(await kernel.storage.resolve(raw, { consumer: 'qemu' })), join(root, 'images/100/vm-100-disk-0/disk.raw'));
  const sub = await kernel.storage.allocate({ storage: 'bt', vmid: 100, sizeBytes: 0, content: 'rootdir' });
  t.is(sub, 'bt:100/subvol-100-disk-1.subvol');
  t.true(await isSubvolume(join(root, 'images/100/subvol-100-disk-1.subvol')));

  await kernel.storage.snapshotCreate(raw, 'before');
  const snap = join(root, 'images/100/vm-100-disk-0@before');
  t.true(await isSubvolume(snap), 'a snapshot is a subvolume <subvolume>@<name>');
  t.regex(await btrfs('property', 'get', snap, 'ro'), /ro=true/, 'snapshots are read-only');
  t.is(path(await kernel.storage.resolve(raw, { snapshot: 'before' })), join(snap, 'disk.raw'));
  await t.throwsAsync(kernel.storage.createBase(raw), { code: ErrorCodes.conflict }, 'a volume with snapshots is not turned into a base');
  await kernel.storage.snapshotDelete(raw, 'before');

  const base = await kernel.storage.createBase(raw);
  t.is(base, 'bt:100/base-100-disk-0.raw');
  t.regex(await btrfs('property', 'get', join(root, 'images/100/base-100-disk-0'), 'ro'), /ro=true/, 'a base is read-only');
  const subBase = await kernel.storage.createBase(sub);
  t.is(subBase, 'bt:100/base-100-disk-1.subvol');
  await kernel.storage.free(base);
  await kernel.storage.free(subBase);
  await t.throwsAsync(stat(join(root, 'images/100')), { code: 'ENOENT' }, 'the empty guest directory is removed');
});

btrfsTest('linked clones are snapshots of their base: parent from btrfs, base protected while they exist', async (t) => {
  const { kernel, path: root } = await storage(t, { quotas: '1' });
  const sub = await kernel.storage.allocate({ storage: 'bt', vmid: 200, sizeBytes: 32 * MiB, content: 'rootdir' });
  const base = await kernel.storage.createBase(sub);
  const clone = await kernel.storage.cloneLinked(base, { vmid: 201 });
  t.is(clone, 'bt:201/subvol-201-disk-0.subvol', 'a clone is named <vmid>/<name> as BTRFSPlugin names it');
  const info = await kernel.storage.volumeInfo(clone);
  t.is(info.parent, base, 'btrfs knows the clone was taken of the base');
  t.is(info.sizeBytes, 32 * MiB, 'a subvolume clone keeps the base\'s quota');
  const uuid = /^\s*UUID:\s*(\S+)/m.exec(await btrfs('subvolume', 'show', join(root, 'images/200/base-200-disk-0.subvol')))![1];
  t.regex(await btrfs('subvolume', 'show', join(root, 'images/201/subvol-201-disk-0.subvol')), new RegExp(`Parent UUID:\\s*${uuid}`));
  t.deepEqual(await kernel.storage.linkedClones(base), [clone]);
  await t.throwsAsync(kernel.storage.free(base), { code: ErrorCodes.conflict });
  await kernel.storage.free(clone);
  await kernel.storage.free(base);
});

btrfsTest('with quotas a container subvolume\'s size is a qgroup limit: enforced, resizable; without quotas a size is refused', async (t) => {
  const { kernel } = await storage(t, { quotas: '1' });
  const sub = await kernel.storage.allocate({ storage: 'bt', vmid: 300, sizeBytes: 8 * MiB, content: 'rootdir' });
  const dir = path(await kernel.storage.resolve(sub, { consumer: 'container' }));
  const fh = await open(join(dir, 'big'), 'w');
  const err = await t.throwsAsync(async () => {
    try {
      for (let i = 0; i < 32; i++) {
        await fh.write(Buffer.alloc(MiB, 0x5a));
        await fh.sync();
      }
    } finally {
      await fh.close();
    }
  });
  t.is((err as NodeJS.ErrnoException).errno, -122, 'writing past the size is EDQUOT');
  await kernel.storage.resize(sub, { sizeBytes: 64 * MiB });
  t.is((await kernel.storage.volumeInfo(sub)).sizeBytes, 64 * MiB, 'resize sets the new limit');
  await writeFile(join(dir, 'more'), Buffer.alloc(16 * MiB, 1));
  await runToolOk(['sync', '-f', join(dir, 'more')]); // qgroup numbers change when the transaction commits
  t.true((await kernel.storage.volumeInfo(sub)).usedBytes! >= 16 * MiB, 'used bytes are the qgroup\'s referenced bytes');
  await kernel.storage.free(sub);

  const plain = await storage(t);
  await t.throwsAsync(plain.kernel.storage.allocate({ storage: 'bt', vmid: 301, sizeBytes: 8 * MiB, content: 'rootdir' }), { code: ErrorCodes.notSupported, message: /quotas/ });
  t.deepEqual(await plain.kernel.storage.listVolumes('bt', { vmid: 301 }), [], 'the refused allocation left nothing');
  const unsized = await plain.kernel.storage.allocate({ storage: 'bt', vmid: 301, sizeBytes: 0, content: 'rootdir' });
  await t.throwsAsync(plain.kernel.storage.resize(unsized, { sizeBytes: 8 * MiB }), { code: ErrorCodes.notSupported });
  await plain.kernel.storage.free(unsized);
});

btrfsTest('a raw import past the filesystem is StorageFullError and leaves nothing', async (t) => {
  const { kernel } = await storage(t);
  const size = 4 * 1024 * MiB; // more than the 1 GiB test filesystem holds
  const body = new PassThrough();
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(size));
  body.write(header);
  void (async () => {
    for (let i = 0; i < size / MiB; i++) if (!body.write(Buffer.alloc(MiB, 0x77))) await new Promise((r) => body.once('drain', r));
    body.end();
  })().catch(() => undefined);
  await t.throwsAsync(kernel.storage.importVolume({ storage: 'bt', vmid: 400, format: 'raw+size', stream: body }), { instanceOf: StorageFullError });
  body.destroy();
  t.deepEqual(await kernel.storage.listVolumes('bt', { vmid: 400 }), []);
});

btrfsTest('a Proxmox btrfs stream with history imports: the last subvolume is the current state, earlier ones stay snapshots', async (t) => {
  const { kernel, path: root } = await storage(t);
  // The sender: a Proxmox-layout volume with two snapshots, sent as Proxmox's volume_export
  // does with snapshots (`btrfs send -e` of every snapshot, the exported one last).
  const src = join(fs!.mountPoint, `src-${process.pid}`);
  await runToolOk(['mkdir', '-p', src]);
  const vol = join(src, 'vm-100-disk-0');
  await btrfs('subvolume', 'create', vol);
  await writeFile(join(vol, 'disk.raw'), Buffer.alloc(MiB, 0x11));
  await btrfs('subvolume', 'snapshot', '-r', vol, `${vol}@first`);
  await writeFile(join(vol, 'disk.raw'), Buffer.alloc(MiB, 0x22));
  await btrfs('subvolume', 'snapshot', '-r', vol, `${vol}@__migration__`);
  const stream = (await import('node:child_process')).spawn('btrfs', ['-q', 'send', '-e', '--', `${vol}@first`, `${vol}@__migration__`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const volid = await kernel.storage.importVolume({ storage: 'bt', vmid: 500, format: 'btrfs', stream: stream.stdout as Readable });
  t.is(volid, 'bt:500/vm-500-disk-0.raw');
  t.true((await readFile(join(root, 'images/500/vm-500-disk-0/disk.raw'))).equals(Buffer.alloc(MiB, 0x22)), 'current state from the last subvolume');
  t.deepEqual((await kernel.storage.snapshotList(volid)).map((s) => s.name), ['first'], 'earlier snapshots are kept, the transfer snapshot is not');
  t.true((await readFile(join(root, 'images/500/vm-500-disk-0@first/disk.raw'))).equals(Buffer.alloc(MiB, 0x11)));
  t.regex(await btrfs('property', 'get', join(root, 'images/500/vm-500-disk-0@first'), 'ro'), /ro=true/);
  await kernel.storage.snapshotRollback(volid, 'first');
  t.true((await readFile(path(await kernel.storage.resolve(volid)))).equals(Buffer.alloc(MiB, 0x11)), 'the kept snapshot rolls back');
  await kernel.storage.free(volid);
  await btrfs('subvolume', 'delete', `${vol}@first`, `${vol}@__migration__`, vol);
  t.deepEqual(await kernel.storage.listVolumes('bt', { vmid: 500 }), []);
});

btrfsTest('a btrfs export leaves no temporary snapshot; its stream imported as another format is refused and leaves nothing', async (t) => {
  const { kernel, path: root } = await storage(t);
  const raw = await kernel.storage.allocate({ storage: 'bt', vmid: 600, sizeBytes: MiB });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await kernel.storage.exportVolume(raw, { format: 'btrfs', stream: out });
  t.deepEqual((await kernel.storage.snapshotList(raw)).map((s) => s.name), [], 'the export\'s temporary snapshot is gone');
  await t.throwsAsync(
    kernel.storage.importVolume({ storage: 'bt', vmid: 601, format: 'btrfs', stream: Readable.from([Buffer.concat(chunks)]), content: 'rootdir', volumeFormat: 'subvol' }),
    { code: ErrorCodes.invalidArgument, message: /not a subvol volume/ },
  );
  t.deepEqual(await kernel.storage.listVolumes('bt', { vmid: 601 }), []);
  await t.throwsAsync(stat(join(root, 'images/601')), { code: 'ENOENT' }, 'no temporary receive directory is left');
  await kernel.storage.free(raw);
});

btrfsTest('path, is_mountpoint and quotas need a privileged caller; nocow does not; a path off btrfs is refused', async (t) => {
  const { kernel } = await storage(t);
  const user = unprivilegedCaller('alice@pve');
  await t.throwsAsync(kernel.storage.update('bt', { quotas: '1' }, { caller: user }), { code: ErrorCodes.permission });
  await t.throwsAsync(kernel.storage.update('bt', { path: '/tmp' }, { caller: user }), { code: ErrorCodes.permission });
  await kernel.storage.update('bt', { nocow: '1' }, { caller: user });
  const raw = await kernel.storage.allocate({ storage: 'bt', vmid: 700, sizeBytes: MiB });
  const access = await kernel.storage.resolve(raw, { consumer: 'qemu' });
  t.deepEqual(access.kind === 'file' ? access.qemuHints : undefined, {}, 'with nocow QEMU may use O_DIRECT');
  t.regex((await runToolOk(['lsattr', path(access)])).stdout, /C/, 'the image file has the NOCOW attribute');
  await kernel.storage.free(raw);
  await kernel.storage.update('bt', {}, { caller: ROOT_CALLER, delete: ['nocow'] });
  const cow = await kernel.storage.allocate({ storage: 'bt', vmid: 700, sizeBytes: MiB });
  const cowAccess = await kernel.storage.resolve(cow, { consumer: 'qemu' });
  t.deepEqual(cowAccess.kind === 'file' ? cowAccess.qemuHints : undefined, { defaultCache: 'writeback' }, 'without nocow QEMU uses the page cache');
  await kernel.storage.free(cow);

  const notBtrfs = await makeTempDir(t, 'corral-notbtrfs-');
  await t.throwsAsync(kernel.storage.add('nb', 'btrfs', { path: notBtrfs }, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig, message: /not on a btrfs/ });
});

btrfsTest('a copy within the storage shares the extents of its source, is not its clone, and outlives it', async (t) => {
  const { kernel, path: root } = await storage(t, { quotas: '1' });
  const raw = await kernel.storage.allocate({ storage: 'bt', vmid: 800, sizeBytes: 64 * MiB });
  await writeFile(path(await kernel.storage.resolve(raw)), Buffer.alloc(16 * MiB, 0x3c), { flag: 'r+' });
  const base = await kernel.storage.createBase(raw);
  const copy = await kernel.storage.copy(base, { targetStorage: 'bt', vmid: 801 });
  t.is(copy, 'bt:801/vm-801-disk-0.raw');
  await runToolOk(['sync', '-f', root]);
  const du = await btrfs('filesystem', 'du', '-s', '--raw', join(root, 'images/801/vm-801-disk-0'));
  const shared = Number(/^\s*\d+\s+\d+\s+(\d+)/m.exec(du.split('\n').slice(1).join('\n'))![1]);
  t.true(shared >= 16 * MiB, `the copy's data is shared with the base, not written again (btrfs filesystem du: ${du.trim()})`);
  t.regex(await btrfs('subvolume', 'show', join(root, 'images/801/vm-801-disk-0')), /Parent UUID:\s*-/, 'the copy is no snapshot of the base');
  t.is((await kernel.storage.volumeInfo(copy)).parent, undefined);
  await kernel.storage.free(base);
  t.true((await readFile(path(await kernel.storage.resolve(copy)))).subarray(0, 16 * MiB).equals(Buffer.alloc(16 * MiB, 0x3c)), 'the copy keeps its bytes when the base is gone');

  const sub = await kernel.storage.allocate({ storage: 'bt', vmid: 802, sizeBytes: 16 * MiB, content: 'rootdir' });
  const dir = path(await kernel.storage.resolve(sub, { consumer: 'container' }));
  await writeFile(join(dir, 'hostname'), 'ct802\n');
  const subCopy = await kernel.storage.copy(sub, { targetStorage: 'bt', vmid: 803 });
  t.is((await kernel.storage.volumeInfo(subCopy)).sizeBytes, 16 * MiB, 'a subvolume copy keeps the quota');
  t.is(await readFile(join(path(await kernel.storage.resolve(subCopy, { consumer: 'container' })), 'hostname'), 'utf8'), 'ct802\n');
  for (const v of [copy, sub, subCopy]) await kernel.storage.free(v);
});

btrfsTest('is_mountpoint: a storage is unavailable until its path is a mounted btrfs', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageBtrfsPlugin] });
  const notMounted = await mkdtemp(join(fs!.mountPoint, 'mp-'));
  await kernel.storage.add('mp', 'btrfs', { path: notMounted, is_mountpoint: 'yes', content: 'images' }, { caller: ROOT_CALLER });
  await t.throwsAsync(kernel.storage.activate('mp'), { code: ErrorCodes.unavailable, message: /not mounted/ });
  t.false((await kernel.storage.status('mp')).active);
  await kernel.storage.add('mounted', 'btrfs', { path: fs!.mountPoint, is_mountpoint: 'yes', content: 'images' }, { caller: ROOT_CALLER });
  await kernel.storage.activate('mounted');
  t.true((await kernel.storage.status('mounted')).active);
});

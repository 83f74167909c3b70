import test, { type ExecutionContext } from 'ava';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, NodeCommandRunner, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { storageDirPlugin } from '../src/index.js';

const qemuTest = realTest(test, ['qemu-img', 'qemu-io', 'qemu-nbd'].every(hasProgram), 'qemu-utils (qemu-img, qemu-io, qemu-nbd) is not installed');
const runner = new NodeCommandRunner();

async function dirStorage(t: ExecutionContext, options: Record<string, string> = {}) {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t, 'corral-dir-');
  await kernel.storage.add('store', 'dir', { path, content: 'images,rootdir,iso,vztmpl,backup,snippets', ...options }, { caller: ROOT_CALLER });
  return { kernel, storage: kernel.storage, path };
}

async function qemuImgInfo(path: string): Promise<Record<string, unknown>> {
  return JSON.parse((await runner.run(['qemu-img', 'info', '-U', '--output=json', path])).stdout) as Record<string, unknown>;
}

test('activation creates Proxmox content directories', async (t) => {
  const { storage, path } = await dirStorage(t);
  await storage.activate('store');
  for (const d of ['images', 'template/iso', 'template/cache', 'dump', 'snippets']) t.true((await stat(join(path, d))).isDirectory(), d);
});

qemuTest('volumes land in Proxmox paths and formats', async (t) => {
  const { storage, path } = await dirStorage(t);
  const raw = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 4 << 20 });
  const qcow2 = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 4 << 20, format: 'qcow2' });
  const vmdk = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 4 << 20, format: 'vmdk' });
  const subvol = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 1 << 30, content: 'rootdir' });
  t.deepEqual([raw, qcow2, vmdk, subvol], ['store:100/vm-100-disk-0.raw', 'store:100/vm-100-disk-1.qcow2', 'store:100/vm-100-disk-2.vmdk', 'store:100/subvol-100-disk-3.subvol']);
  t.is((await stat(join(path, 'images/100/vm-100-disk-0.raw'))).size, 4 << 20);
  t.is((await qemuImgInfo(join(path, 'images/100/vm-100-disk-1.qcow2'))).format, 'qcow2');
  t.is((await qemuImgInfo(join(path, 'images/100/vm-100-disk-2.vmdk'))).format, 'vmdk');
  t.true((await stat(join(path, 'images/100/subvol-100-disk-3.subvol'))).isDirectory());
  t.is((await storage.volumeInfo(subvol)).sizeBytes, 1 << 30, 'the subvol quota is its size');
  t.deepEqual(
    (await storage.listVolumes('store', { vmid: 100 })).map((v) => v.volname),
    ['100/subvol-100-disk-3.subvol', '100/vm-100-disk-0.raw', '100/vm-100-disk-1.qcow2', '100/vm-100-disk-2.vmdk'],
    'the quota side file is not a volume',
  );
  await t.throwsAsync(storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 1 << 20, name: 'vm-100-disk-9.qcow2', format: 'raw' }), {
    code: ErrorCodes.invalidArgument,
    message: /wrong extension for format/,
  });
  await t.throwsAsync(storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 1 << 20, name: '../escape' }), { code: ErrorCodes.invalidArgument });
  for (const v of [raw, qcow2, vmdk, subvol]) await storage.free(v);
  t.deepEqual(await readdir(join(path, 'images')), [], 'the empty guest directory is removed with its last volume');
});

qemuTest("the storage's format option is the default format", async (t) => {
  const { storage } = await dirStorage(t, { format: 'qcow2' });
  const v = await storage.allocate({ storage: 'store', vmid: 101, sizeBytes: 1 << 20 });
  t.is(v, 'store:101/vm-101-disk-0.qcow2');
  await storage.free(v);
});

qemuTest('templates are renamed base-*, read-only; linked clones use relative backing files as Proxmox', async (t) => {
  const { storage, path } = await dirStorage(t);
  const vol = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 8 << 20, format: 'qcow2' });
  const base = await storage.createBase(vol);
  t.is(base, 'store:100/base-100-disk-0.qcow2');
  const basePath = join(path, 'images/100/base-100-disk-0.qcow2');
  t.is((await stat(basePath)).mode & 0o777, 0o444, 'a base is read-only');
  const clone = await storage.cloneLinked(base, { vmid: 200 });
  t.is(clone, 'store:100/base-100-disk-0.qcow2/200/vm-200-disk-0.qcow2');
  const info = await qemuImgInfo(join(path, 'images/200/vm-200-disk-0.qcow2'));
  t.is(info['backing-filename'], '../100/base-100-disk-0.qcow2');
  t.is(info['backing-filename-format'], 'qcow2');
  t.is((await storage.volumeInfo(clone)).parent, base);
  // a template made from a linked clone keeps its base in the name (pve's create_base)
  const chained = await storage.createBase(clone);
  t.is(chained, 'store:100/base-100-disk-0.qcow2/200/base-200-disk-0.qcow2');
  const grandchild = await storage.cloneLinked(chained, { vmid: 300 });
  t.is(grandchild, 'store:200/base-200-disk-0.qcow2/300/vm-300-disk-0.qcow2');
  await t.throwsAsync(storage.free(chained), { code: ErrorCodes.conflict });
  await storage.free(grandchild);
  await storage.free(chained);
  await storage.free(base);
  t.deepEqual(await readdir(join(path, 'images')), []);
});

qemuTest('images made by Proxmox (qemu-img in the same layout) are listed with their volids and parents', async (t) => {
  const { storage, path } = await dirStorage(t);
  await storage.activate('store');
  const d100 = join(path, 'images/100');
  const d105 = join(path, 'images/105');
  await mkdir(d100, { recursive: true });
  await mkdir(d105, { recursive: true });
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', join(d100, 'base-100-disk-0.qcow2'), '1G']);
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', '-b', '../100/base-100-disk-0.qcow2', '-F', 'qcow2', join(d105, 'vm-105-disk-0.qcow2')], { cwd: d105 });
  await runner.run(['qemu-img', 'create', '-f', 'raw', join(d105, 'vm-105-disk-1.raw'), '2M']);
  await mkdir(join(d105, 'subvol-105-disk-2.subvol'));
  await writeFile(join(d105, 'notes.txt'), 'not a volume');
  await mkdir(join(path, 'images/lost+found'));
  const list = await storage.listVolumes('store');
  t.deepEqual(
    list.map((v) => [v.volid, v.format, v.sizeBytes, v.parent ?? null, v.isBase, v.content]),
    [
      ['store:100/base-100-disk-0.qcow2', 'qcow2', 1 << 30, null, true, 'images'],
      ['store:100/base-100-disk-0.qcow2/105/vm-105-disk-0.qcow2', 'qcow2', 1 << 30, 'store:100/base-100-disk-0.qcow2', false, 'images'],
      ['store:105/subvol-105-disk-2.subvol', 'subvol', 0, null, false, 'rootdir'],
      ['store:105/vm-105-disk-1.raw', 'raw', 2 << 20, null, false, 'images'],
    ],
  );
  t.is((await storage.allocate({ storage: 'store', vmid: 105, sizeBytes: 1 << 20 })).split(':')[1], '105/vm-105-disk-3.raw', 'next free disk number counts every prefix');
});

test('uploads land in the content directory; names must carry the content extension', async (t) => {
  const { storage, path } = await dirStorage(t);
  const iso = await storage.upload({ storage: 'store', content: 'iso', filename: 'install.iso', stream: Readable.from([Buffer.alloc(4096, 1)]) });
  t.is(iso, 'store:iso/install.iso');
  t.is((await stat(join(path, 'template/iso/install.iso'))).size, 4096);
  const tmpl = await storage.upload({ storage: 'store', content: 'vztmpl', filename: 'debian-12-standard_12.7-1_amd64.tar.zst', stream: Readable.from([Buffer.from('x')]) });
  t.is(tmpl, 'store:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst');
  t.true((await stat(join(path, 'template/cache/debian-12-standard_12.7-1_amd64.tar.zst'))).isFile());
  const snip = await storage.upload({ storage: 'store', content: 'snippets', filename: 'hook.pl', stream: Readable.from([Buffer.from('#!/usr/bin/perl\n')]) });
  t.is(snip, 'store:snippets/hook.pl');
  const bkp = await storage.upload({ storage: 'store', content: 'backup', filename: 'vzdump-qemu-100-2024_01_01-00_00_00.vma.zst', stream: Readable.from([Buffer.from('x')]) });
  t.deepEqual((await storage.listVolumes('store', { vmid: 100 })).map((v) => v.volid), [bkp], 'backups are listed by the guest in their name');
  t.is((await storage.volumeInfo(bkp)).vmid, 100);
  await t.throwsAsync(storage.upload({ storage: 'store', content: 'iso', filename: 'install.exe', stream: Readable.from([Buffer.from('x')]) }), {
    code: ErrorCodes.invalidArgument,
    message: /\.iso or \.img/,
  });
  await t.throwsAsync(storage.upload({ storage: 'store', content: 'vztmpl', filename: 'rootfs.zip', stream: Readable.from([Buffer.from('x')]) }), { code: ErrorCodes.invalidArgument });
  t.deepEqual((await readdir(join(path, 'template/iso'))).sort(), ['install.iso'], 'no temporary files are left');
  const list = await storage.listVolumes('store', { content: 'iso' });
  t.deepEqual(list.map((v) => [v.volid, v.format, v.sizeBytes]), [['store:iso/install.iso', 'iso', 4096]]);
  for (const v of [iso, tmpl, snip, bkp]) await storage.free(v);
  t.deepEqual(await storage.listVolumes('store', { content: 'iso' }), []);
});

test('an upload to a storage without that content is refused', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  await kernel.storage.add('imgs', 'dir', { path: await makeTempDir(t), content: 'images' }, { caller: ROOT_CALLER });
  await t.throwsAsync(kernel.storage.upload({ storage: 'imgs', content: 'iso', filename: 'a.iso', stream: Readable.from([Buffer.from('x')]) }), {
    code: ErrorCodes.invalidArgument,
    message: /does not hold content 'iso'/,
  });
});

qemuTest('a protected volume survives free until unprotected; its notes stay with it', async (t) => {
  const { storage, path } = await dirStorage(t);
  const v = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 1 << 20, format: 'qcow2' });
  await storage.setAttributes(v, { protected: true, notes: 'golden image' });
  await t.throwsAsync(storage.free(v), { code: ErrorCodes.protected, message: /protected/ });
  t.true((await stat(join(path, 'images/100/vm-100-disk-0.qcow2'))).isFile(), 'the file is still there');
  t.deepEqual(await storage.getAttributes(v), { protected: true, notes: 'golden image' });
  await storage.setAttributes(v, { protected: false });
  await storage.free(v);
  await t.throwsAsync(stat(join(path, 'images/100/vm-100-disk-0.qcow2')));
});

qemuTest('qcow2 snapshots of a dir volume are internal (qemu-img snapshot -l shows them)', async (t) => {
  const { storage, path } = await dirStorage(t);
  const v = await storage.allocate({ storage: 'store', vmid: 100, sizeBytes: 1 << 20, format: 'qcow2' });
  await storage.snapshotCreate(v, 'before-upgrade');
  await t.throwsAsync(storage.snapshotCreate(v, 'before-upgrade'), { code: ErrorCodes.alreadyExists });
  await t.throwsAsync(storage.snapshotRollback(v, 'nope'), { code: ErrorCodes.notFound });
  const out = await runner.run(['qemu-img', 'snapshot', '-U', '-l', join(path, 'images/100/vm-100-disk-0.qcow2')]);
  t.regex(out.stdout, /before-upgrade/);
  const snaps = await storage.snapshotList(v);
  t.is(snaps.length, 1);
  t.true((snaps[0]!.ctime ?? 0) > 1_600_000_000);
  await t.throwsAsync(storage.resolve(v, { consumer: 'qemu', snapshot: 'before-upgrade' }), { code: ErrorCodes.notSupported });
  await storage.free(v);
});

test('is_mountpoint: an unmounted directory makes the storage inactive and activation fail', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t);
  await kernel.storage.add('mnt', 'dir', { path, is_mountpoint: 'yes', content: 'images' }, { caller: ROOT_CALLER });
  t.false((await kernel.storage.status('mnt')).active);
  await t.throwsAsync(kernel.storage.activate('mnt'), { code: ErrorCodes.unavailable, message: /not mounted/ });
  await kernel.storage.add('other', 'dir', { path: await makeTempDir(t), is_mountpoint: '/proc', content: 'images' }, { caller: ROOT_CALLER });
  t.true((await kernel.storage.status('other')).active, 'an explicit mount point path that is mounted');
});

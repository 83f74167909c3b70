/**
 * A storage.cfg written by Proxmox VE loads in a kernel with the dir plugin: the dir sections
 * work (their `local` pointed at a temporary directory), the types without a plugin are listed
 * as inactive definitions without a driver, and `content-dirs` moves content directories.
 */
import test from 'ava';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir, PROXMOX_STORAGE_CFG_SAMPLES } from '@corral/core/testing';
import { dirOptions } from '../src/dirOptions.js';
import { storageDirPlugin } from '../src/index.js';

for (const s of PROXMOX_STORAGE_CFG_SAMPLES) {
  test(`${s.name}: loads with the dir plugin; dir storages work, the others are inactive without a driver`, async (t) => {
    const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
    const vz = await makeTempDir(t, 'corral-vz-');
    const text = s.text.replaceAll('/var/lib/vz', vz);
    await kernel.config.write('storage.cfg', text);
    const defs = await kernel.storage.list();
    t.deepEqual(defs.map((d) => `${d.type}: ${d.id}`), s.sections);
    const summaries = await kernel.storage.statusAll();
    t.true(summaries.length > 0);
    for (const sum of summaries) {
      const def = defs.find((d) => d.id === sum.id)!;
      t.is(sum.driver, def.type === 'dir', sum.id);
      t.is(sum.active, def.type === 'dir' && !def.disabled && sum.id === 'local', sum.id);
    }
    t.is((await kernel.config.read('storage.cfg'))!.content, text, 'reading and activating changed nothing in storage.cfg');
  });
}

test('the bare flags of a Proxmox file mean true; Proxmox booleans are accepted when adding', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t, 'corral-dir-');
  await kernel.config.write('storage.cfg', `dir: flags\n\tpath ${path}\n\tcreate-subdirs\n\tmkdir off\n\tshared yes\n\n`);
  const def = await kernel.storage.get('flags');
  t.true(def.shared);
  const o = dirOptions(def);
  t.true(o.createSubdirs);
  t.false(o.createBasePath);
  const added = await kernel.storage.add('more', 'dir', { path, 'create-subdirs': 'no', bwlimit: 'clone=1024', maxfiles: 2, content: 'iso,import' }, { caller: ROOT_CALLER });
  t.false(dirOptions(added).createSubdirs);
  t.deepEqual(added.content, ['iso', 'import']);
  t.regex((await kernel.config.read('storage.cfg'))!.content, /\tbwlimit clone=1024\n\tmaxfiles 2\n\tcontent iso,import\n/);
});

test('content-dirs moves the directories of the content types it names', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t, 'corral-dir-');
  await kernel.storage.add('moved', 'dir', { path, content: 'images,iso,backup', 'content-dirs': 'iso=isos,images=vm/disks' }, { caller: ROOT_CALLER });
  await kernel.storage.activate('moved');
  t.true((await stat(join(path, 'isos'))).isDirectory());
  t.true((await stat(join(path, 'dump'))).isDirectory(), 'backup keeps its default directory');
  await t.throwsAsync(stat(join(path, 'template', 'iso')));
  const volid = await kernel.storage.allocate({ storage: 'moved', vmid: 100, sizeBytes: 1024 * 1024, format: 'raw' });
  t.is(volid, 'moved:100/vm-100-disk-0.raw');
  t.true((await stat(join(path, 'vm', 'disks', '100', 'vm-100-disk-0.raw'))).isFile());
  const iso = await kernel.storage.upload({ storage: 'moved', content: 'iso', filename: 'install.iso', stream: Readable.from([Buffer.alloc(4096, 1)]) });
  t.true((await stat(join(path, 'isos', 'install.iso'))).isFile());
  t.deepEqual((await kernel.storage.listVolumes('moved')).map((v) => v.volid).sort(), [iso, volid].sort());
});

test('a copy to a storage with bwlimit streams through the limit and arrives whole', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const a = await makeTempDir(t, 'corral-dir-');
  const b = await makeTempDir(t, 'corral-dir-');
  await kernel.storage.add('src', 'dir', { path: a, content: 'images' }, { caller: ROOT_CALLER });
  // 1 GiB/s for clones: a limit that is applied without slowing the test.
  await kernel.storage.add('dst', 'dir', { path: b, content: 'images', bwlimit: 'clone=1048576,default=1' }, { caller: ROOT_CALLER });
  const volid = await kernel.storage.allocate({ storage: 'src', vmid: 100, sizeBytes: 1024 * 1024, format: 'raw' });
  const data = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
  await writeFile(join(a, 'images', '100', 'vm-100-disk-0.raw'), data);
  const copy = await kernel.storage.copy(volid, { targetStorage: 'dst', vmid: 101 });
  t.is(copy, 'dst:101/vm-101-disk-0.raw');
  t.true((await readFile(join(b, 'images', '101', 'vm-101-disk-0.raw'))).equals(data));
});

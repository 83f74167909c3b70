/**
 * Content `import` (Proxmox VE 8.2+) on a dir storage: the installer's `local` (content
 * iso,vztmpl,backup,import) holds it; files under `import/` are listed, resolved, uploaded and
 * freed with Proxmox's names (`import/<name>.ova|ovf|qcow2|raw|vmdk`), a disk inside an OVA
 * is a name without a file of its own, and `content-dirs` moves the directory.
 */
import test from 'ava';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir, PROXMOX_STORAGE_CFG_SAMPLES } from '@corral/core/testing';
import { parseDirVolname } from '../src/dirVolname.js';
import { storageDirPlugin } from '../src/index.js';

async function installerLocal(t: Parameters<typeof makeTempDir>[0]) {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const vz = await makeTempDir(t, 'corral-vz-');
  const sample = PROXMOX_STORAGE_CFG_SAMPLES.find((s) => s.text.startsWith('dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup,import\n'))!;
  await kernel.config.write('storage.cfg', sample.text.replaceAll('/var/lib/vz', vz));
  return { kernel, vz };
}

test("the installer's local holds import; its import/ files are listed with Proxmox's formats", async (t) => {
  const { kernel, vz } = await installerLocal(t);
  const def = await kernel.storage.get('local');
  t.deepEqual(def.content, ['iso', 'vztmpl', 'backup', 'import']);
  await kernel.storage.activate('local');
  t.true((await stat(join(vz, 'import'))).isDirectory(), 'activate creates import/');
  const files = ['appliance.ova', 'vm.ovf', 'disk-1.qcow2', 'disk.raw', 'win.vmdk', 'notes.txt', 'with space.ova', '.hidden.ova', 'UPPER.OVA'];
  for (const f of files) await writeFile(join(vz, 'import', f), 'x'.repeat(100));
  await mkdir(join(vz, 'import', 'dir.ova'));
  const listed = await kernel.storage.listVolumes('local', { content: 'import' });
  t.deepEqual(
    listed.map((v) => [v.volid, v.format, v.content, v.sizeBytes]),
    [
      ['local:import/appliance.ova', 'ova', 'import', 100],
      ['local:import/disk-1.qcow2', 'qcow2', 'import', 100],
      ['local:import/disk.raw', 'raw', 'import', 100],
      ['local:import/vm.ovf', 'ovf', 'import', 100],
      ['local:import/win.vmdk', 'vmdk', 'import', 100],
    ],
  );
  const all = await kernel.storage.listVolumes('local');
  t.true(all.some((v) => v.volid === 'local:import/vm.ovf'), 'an unfiltered listing has the enabled import content');
  t.deepEqual(await kernel.storage.listVolumes('local', { content: 'import', vmid: 100 }), [], 'import sources belong to no guest');
});

test('import volumes resolve to their file; a disk inside an OVA parses but has no file of its own', async (t) => {
  const { kernel, vz } = await installerLocal(t);
  await kernel.storage.activate('local');
  await writeFile(join(vz, 'import', 'appliance.ova'), 'ova');
  t.deepEqual(await kernel.storage.resolve('local:import/appliance.ova'), { kind: 'file', path: join(vz, 'import', 'appliance.ova'), format: 'ova' });
  t.like(await kernel.storage.volumeInfo('local:import/appliance.ova'), { content: 'import', format: 'ova', sizeBytes: 3 });
  const member = await kernel.storage.parse('local:import/appliance.ova/disk 1.vmdk');
  t.like(member, { content: 'import', name: 'appliance.ova/disk 1.vmdk', format: 'ova+vmdk' });
  const err = await t.throwsAsync(kernel.storage.resolve('local:import/appliance.ova/disk1.vmdk'), { code: ErrorCodes.notSupported });
  t.regex(err!.message, /inside the OVA archive 'import\/appliance\.ova'/);
  await t.throwsAsync(kernel.storage.free('local:import/appliance.ova/disk1.vmdk'), { code: ErrorCodes.notSupported });
  t.true((await stat(join(vz, 'import', 'appliance.ova'))).isFile(), 'freeing a disk inside the archive left the archive alone');
  for (const bad of ['import/x.exe', 'import/a/b.qcow2', 'import/x.ova/y.iso', 'import/x.OVA']) {
    await t.throwsAsync(kernel.storage.parse(`local:${bad}`), { code: ErrorCodes.invalidVolumeId }, bad);
  }
  await kernel.storage.free('local:import/appliance.ova');
  await t.throwsAsync(stat(join(vz, 'import', 'appliance.ova')));
});

test("uploads of import sources follow Proxmox's upload rules (ova, qcow2, raw, vmdk; no ovf)", async (t) => {
  const { kernel, vz } = await installerLocal(t);
  const volid = await kernel.storage.upload({ storage: 'local', content: 'import', filename: 'appliance.ova', stream: Readable.from([Buffer.alloc(512, 7)]) });
  t.is(volid, 'local:import/appliance.ova');
  t.is((await stat(join(vz, 'import', 'appliance.ova'))).size, 512);
  await t.throwsAsync(kernel.storage.upload({ storage: 'local', content: 'import', filename: 'vm.ovf', stream: Readable.from([Buffer.alloc(1)]) }), {
    code: ErrorCodes.invalidArgument,
    message: /\.ova, \.qcow2, \.raw or \.vmdk/,
  });
});

test('content-dirs moves import/, and a storage without import content refuses its uploads', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t, 'corral-dir-');
  await kernel.storage.add('moved', 'dir', { path, content: 'import', 'content-dirs': 'import=sources/ova' }, { caller: ROOT_CALLER });
  const volid = await kernel.storage.upload({ storage: 'moved', content: 'import', filename: 'd.qcow2', stream: Readable.from([Buffer.alloc(16)]) });
  t.true((await stat(join(path, 'sources', 'ova', 'd.qcow2'))).isFile());
  t.deepEqual((await kernel.storage.listVolumes('moved', { content: 'import' })).map((v) => v.volid), [volid]);
  await kernel.storage.add('plain', 'dir', { path: await makeTempDir(t, 'corral-dir-'), content: 'images' }, { caller: ROOT_CALLER });
  await t.throwsAsync(kernel.storage.upload({ storage: 'plain', content: 'import', filename: 'd.qcow2', stream: Readable.from([Buffer.alloc(16)]) }), {
    code: ErrorCodes.invalidArgument,
  });
});

test('parseDirVolname decodes import names as pve-storage parse_volname', (t) => {
  t.like(parseDirVolname('import/my vm.ova'), { content: 'import', name: 'my vm.ova', format: 'ova', isBase: false });
  t.like(parseDirVolname('import/x.ova/disk-0.qcow2'), { content: 'import', name: 'x.ova/disk-0.qcow2', archive: 'x.ova', format: 'ova+qcow2' });
  t.like(parseDirVolname('import/a+b=c_d.raw'), { format: 'raw' });
  t.throws(() => parseDirVolname('import/x;y.raw'), { code: ErrorCodes.invalidVolumeId });
});

/**
 * The `lvm` driver against the real lvm2 tools on a loop device, with activation disabled
 * (this kernel has no device-mapper; see test/support/LvmTestVg.ts): everything LVM does on
 * metadata is real here (vgs/lvs reports, lvcreate, lvextend, lvrename, lvremove, tags,
 * lvchange). What needs a device node (bytes through /dev/<vg>/<lv>) is in lvmArgv.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { createLvmTestVg, LVM_TEST_PROGRAMS, type LvmTestVg } from './support/LvmTestVg.js';
import { createLvmTestStorage } from './support/lvmTestStorage.js';
import { parseLvsReport, LvmCommands } from '../src/index.js';

const MiB = 1024 * 1024;
const missing = LVM_TEST_PROGRAMS.filter((p) => !hasProgram(p));
const lvmTest = realTest(test, missing.length === 0, `${missing.join(', ')} not installed (Debian package lvm2)`);

async function vgFor(t: ExecutionContext): Promise<LvmTestVg> {
  const vg = await createLvmTestVg({ parent: await makeTempDir(t, 'corral-lvm-') });
  t.teardown(() => vg.destroy());
  return vg;
}

async function lvsOf(vg: LvmTestVg) {
  return parseLvsReport(await vg.lvm(LvmCommands.lvs(vg.vg)));
}

lvmTest('allocate, list, info, grow, deactivate (vgchange -aln) and free plain LVs named and tagged like Proxmox', async (t) => {
  const vg = await vgFor(t);
  const { kernel, storageId } = await createLvmTestStorage(t, 'lvm', { vgname: vg.vg, content: 'images,rootdir' }, { driver: { env: vg.env } });
  const status = await kernel.storage.status(storageId);
  t.true(status.active);
  t.is(status.totalBytes, 252 * MiB, 'vg_size of a 256 MiB PV with 250k metadata: 63 extents of 4 MiB');
  t.is(status.usedBytes, 0);

  const a = await kernel.storage.allocate({ storage: storageId, vmid: 100, sizeBytes: 8 * MiB });
  const b = await kernel.storage.allocate({ storage: storageId, vmid: 100, sizeBytes: 5 * MiB + 1 });
  const c = await kernel.storage.allocate({ storage: storageId, vmid: 101, sizeBytes: 4 * MiB, content: 'rootdir' });
  t.deepEqual([a, b, c], ['under-test:vm-100-disk-0', 'under-test:vm-100-disk-1', 'under-test:vm-101-disk-0']);
  const lvs = await lvsOf(vg);
  t.deepEqual(
    lvs.map((lv) => [lv.name, lv.sizeBytes, lv.tags.join(','), lv.type]),
    [
      ['vm-100-disk-0', 8 * MiB, 'pve-vm-100', '-'],
      ['vm-100-disk-1', 8 * MiB, 'pve-vm-100', '-'],
      ['vm-101-disk-0', 4 * MiB, 'pve-vm-101', '-'],
    ],
    'real LVs, sizes rounded up to 4 MiB extents, tagged pve-vm-<vmid>',
  );
  const listed = await kernel.storage.listVolumes(storageId, { vmid: 100 });
  t.deepEqual(listed.map((v) => [v.volid, v.format, v.content, v.sizeBytes, v.isBase]), [
    ['under-test:vm-100-disk-0', 'raw', 'images', 8 * MiB, false],
    ['under-test:vm-100-disk-1', 'raw', 'images', 8 * MiB, false],
  ]);
  t.true(typeof listed[0]!.ctime === 'number' && listed[0]!.ctime > 1_700_000_000, 'ctime from lv_time');
  t.is((await kernel.storage.status(storageId)).usedBytes, 20 * MiB);

  await kernel.storage.resize(a, { sizeBytes: 20 * MiB });
  t.is((await kernel.storage.volumeInfo(a)).sizeBytes, 20 * MiB, 'lvextend grew the LV');
  await kernel.storage.resize(a, { sizeBytes: 20 * MiB });
  t.is((await kernel.storage.volumeInfo(a)).sizeBytes, 20 * MiB, 'the same size again is a no-op');
  await t.throwsAsync(kernel.storage.resize(a, { sizeBytes: 8 * MiB }), { code: ErrorCodes.notSupported }, 'no shrink');

  await t.throwsAsync(kernel.storage.allocate({ storage: storageId, vmid: 100, sizeBytes: 4 * MiB, name: 'vm-100-disk-1' }), { code: ErrorCodes.alreadyExists });
  await t.throwsAsync(kernel.storage.allocate({ storage: storageId, vmid: 102, sizeBytes: 4096 * MiB }), { code: ErrorCodes.storageFull });
  await t.throwsAsync(kernel.storage.allocate({ storage: storageId, vmid: 102, sizeBytes: 4 * MiB, format: 'qcow2' }), { code: ErrorCodes.invalidArgument });

  await kernel.storage.deactivate(storageId);
  for (const v of [a, b, c]) await kernel.storage.free(v);
  t.deepEqual(await lvsOf(vg), [], 'every LV removed');
  await t.throwsAsync(kernel.storage.free(a), { code: ErrorCodes.notFound });
  await t.throwsAsync(kernel.storage.volumeInfo(a), { code: ErrorCodes.notFound });
});

lvmTest('saferemove: the LV is renamed del-<name>, activated, and removed; without a device node the zero-out is skipped with a warning', async (t) => {
  const vg = await vgFor(t);
  const { kernel, storageId } = await createLvmTestStorage(t, 'lvm', { vgname: vg.vg, saferemove: '1', 'saferemove-stepsize': '4' }, { driver: { env: vg.env } });
  const volid = await kernel.storage.allocate({ storage: storageId, vmid: 200, sizeBytes: 8 * MiB });
  await kernel.storage.free(volid);
  t.deepEqual(await lvsOf(vg), []);
  t.true(
    kernel.logger.lines.some((l) => /skip zero-out of '.*\/del-vm-200-disk-0': no device node/.test(l.message)),
    JSON.stringify(kernel.logger.lines.map((l) => l.message)),
  );
});

lvmTest('tagged_only lists only LVs tagged pve-vm-<vmid>; LVs of other names and types are never listed', async (t) => {
  const vg = await vgFor(t);
  await vg.lvm(['lvcreate', '-Wy', '--yes', '--size', '4m', '--name', 'vm-300-disk-0', vg.vg]);
  await vg.lvm(['lvcreate', '-Wy', '--yes', '--size', '4m', '--name', 'vm-301-disk-0', '--addtag', 'pve-vm-301', vg.vg]);
  await vg.lvm(['lvcreate', '-Wy', '--yes', '--size', '4m', '--name', 'root', vg.vg]);
  const all = await createLvmTestStorage(t, 'lvm', { vgname: vg.vg }, { driver: { env: vg.env } });
  t.deepEqual((await all.kernel.storage.listVolumes(all.storageId)).map((v) => v.volname), ['vm-300-disk-0', 'vm-301-disk-0']);
  const tagged = await createLvmTestStorage(t, 'lvm', { vgname: vg.vg, tagged_only: '1' }, { driver: { env: vg.env } });
  t.deepEqual((await tagged.kernel.storage.listVolumes(tagged.storageId)).map((v) => v.volname), ['vm-301-disk-0']);
  await t.throwsAsync(all.kernel.storage.volumeInfo(`${all.storageId}:root`), { code: ErrorCodes.invalidVolumeId });
});

lvmTest('resolve activates the LV (lvchange -aey, --refresh) and, with no device node on this kernel, is UnavailableError naming the node', async (t) => {
  const vg = await vgFor(t);
  const { kernel, storageId } = await createLvmTestStorage(t, 'lvm', { vgname: vg.vg }, { driver: { env: vg.env } });
  const volid = await kernel.storage.allocate({ storage: storageId, vmid: 400, sizeBytes: 4 * MiB });
  await t.throwsAsync(kernel.storage.resolve(volid, { consumer: 'qemu' }), { code: ErrorCodes.unavailable, message: new RegExp(`no device node '/dev/${vg.vg}/vm-400-disk-0'`) });
  await t.throwsAsync(kernel.storage.resolve(`${storageId}:vm-400-disk-9`, { consumer: 'qemu' }), { code: ErrorCodes.notFound });
  await kernel.storage.free(volid);
});

lvmTest('definitions: a missing VG is InvalidConfigError naming vgname; snapshot-as-volume-chain 1 is refused; a VG that went away makes status inactive', async (t) => {
  const vg = await vgFor(t);
  const { kernel } = await createLvmTestStorage(t, 'lvm', { vgname: vg.vg }, { driver: { env: vg.env } });
  const err = await t.throwsAsync(kernel.storage.add('gone', 'lvm', { vgname: 'novg' + vg.vg }, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig });
  t.is((err as { key?: string }).key, 'vgname');
  await t.throwsAsync(kernel.storage.add('chain', 'lvm', { vgname: vg.vg, 'snapshot-as-volume-chain': '1' }, { caller: ROOT_CALLER }), { code: ErrorCodes.notSupported });
  await t.throwsAsync(kernel.storage.add('bad', 'lvm', { vgname: '-x' }, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig });
  await vg.lvm(['vgremove', '-f', vg.vg]);
  t.false((await kernel.storage.status('under-test')).active);
  await t.throwsAsync(kernel.storage.allocate({ storage: 'under-test', vmid: 100, sizeBytes: 4 * MiB }), { code: ErrorCodes.unavailable });
});

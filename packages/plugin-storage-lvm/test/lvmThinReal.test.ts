/**
 * The `lvmthin` driver against the real lvm2 tools, on a VG named like Proxmox's (`pve`) whose
 * thin pool `data` and thin LVs are written into the real VG metadata (lvm2 cannot create them
 * without device-mapper; see test/support/LvmTestVg.ts). Real here: the installer's
 * storage.cfg section loading and checking against the VG, `lvs`/`vgs` reports (listing,
 * status, snapshots, bases, clones' parents), lvextend of a thin LV, the template's lvrename
 * and lvchange, and lvm2's own refusal to create thin LVs on this kernel.
 */
import test, { type ExecutionContext } from 'ava';
import { coreServices, ErrorCodes, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { createLvmTestVg, LVM_TEST_PROGRAMS, type LvmTestVg } from './support/LvmTestVg.js';
import { createLvmTestStorage, lvmTestPlugin } from './support/lvmTestStorage.js';
import { ThinMetadataRunner } from './support/ThinMetadataRunner.js';
import { LvmCommands, parseLvsReport } from '../src/index.js';

const MiB = 1024 * 1024;
const missing = LVM_TEST_PROGRAMS.filter((p) => !hasProgram(p));
const lvmTest = realTest(test, missing.length === 0, `${missing.join(', ')} not installed (Debian package lvm2)`);

/** storage.cfg as Proxmox VE's installer writes it on an LVM install (local + local-lvm). */
const INSTALLER_STORAGE_CFG = `dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images
`;

/** VG `pve` (private to this test: its own LVM_SYSTEM_DIR and loop device) with pool `data` and thin LVs. */
async function pveVg(t: ExecutionContext): Promise<LvmTestVg> {
  const vg = await createLvmTestVg({ parent: await makeTempDir(t, 'corral-lvmthin-'), name: 'pve' });
  t.teardown(() => vg.destroy());
  await vg.addThinPool('data', 64 * MiB);
  await vg.addThinLvs('data', [
    { name: 'vm-100-disk-0', sizeBytes: 8 * MiB, ctime: 1796600000 },
    { name: 'snap_vm-100-disk-0_s1', sizeBytes: 8 * MiB, origin: 'vm-100-disk-0', readOnly: true, activationSkip: true, ctime: 1796600060 },
    { name: 'base-101-disk-0', sizeBytes: 16 * MiB, readOnly: true, activationSkip: true, ctime: 1796600120 },
    { name: 'vm-102-disk-0', sizeBytes: 16 * MiB, origin: 'base-101-disk-0', ctime: 1796600180 },
    { name: 'vm-104-disk-0', sizeBytes: 4 * MiB, ctime: 1796600240 },
  ]);
  // The root and swap LVs of a Proxmox install are plain LVs beside the pool.
  await vg.lvm(['lvcreate', '-Wy', '--yes', '--size', '8m', '--name', 'root', 'pve']);
  return vg;
}

async function installerKernel(t: ExecutionContext, vg: LvmTestVg) {
  const kernel = await createTestKernel(t, { plugins: [lvmTestPlugin({ env: vg.env })] });
  await kernel.get(coreServices.configStore).write('storage.cfg', INSTALLER_STORAGE_CFG);
  return kernel;
}

lvmTest("the Proxmox installer's `lvmthin: local-lvm` (thinpool data, vgname pve, content rootdir,images) loads and works", async (t) => {
  const vg = await pveVg(t);
  const kernel = await installerKernel(t, vg);
  const def = await kernel.storage.get('local-lvm');
  t.like(def, { type: 'lvmthin', content: ['rootdir', 'images'], shared: false, disabled: false });
  t.like(def.options, { thinpool: 'data', vgname: 'pve' });
  const status = await kernel.storage.status('local-lvm');
  t.like(status, { active: true, totalBytes: 64 * MiB }, 'status from the pool row of the real lvs report');
  const vols = await kernel.storage.listVolumes('local-lvm');
  t.deepEqual(
    vols.map((v) => [v.volid, v.sizeBytes, v.isBase, v.parent ?? null]),
    [
      ['local-lvm:base-101-disk-0', 16 * MiB, true, null],
      ['local-lvm:vm-100-disk-0', 8 * MiB, false, null],
      ['local-lvm:vm-102-disk-0', 16 * MiB, false, 'local-lvm:base-101-disk-0'],
      ['local-lvm:vm-104-disk-0', 4 * MiB, false, null],
    ],
    'thin LVs of pool data; the snapshot, the pool and root are not volumes',
  );
  t.deepEqual(await kernel.storage.snapshotList('local-lvm:vm-100-disk-0'), [{ name: 's1', ctime: 1796600060 }]);
  t.deepEqual(
    (await kernel.storage.listVolumes('local-lvm', { vmid: 102 })).map((v) => v.volid),
    ['local-lvm:vm-102-disk-0'],
  );
});

lvmTest('lvmthin on real metadata: grow a thin LV (lvextend), make a template (lvrename + lvchange -pr -ky), refuse one with snapshots', async (t) => {
  const vg = await pveVg(t);
  const kernel = await installerKernel(t, vg);
  await kernel.storage.resize('local-lvm:vm-104-disk-0', { sizeBytes: 12 * MiB });
  t.is((await kernel.storage.volumeInfo('local-lvm:vm-104-disk-0')).sizeBytes, 12 * MiB);
  t.is(await kernel.storage.createBase('local-lvm:vm-104-disk-0'), 'local-lvm:base-104-disk-0');
  const lv = parseLvsReport(await vg.lvm(LvmCommands.lvs('pve'))).find((x) => x.name === 'base-104-disk-0');
  t.truthy(lv, 'renamed for real');
  t.is(lv!.attr.charAt(1), 'r', `read-only (attr ${lv!.attr})`);
  t.is(lv!.attr.charAt(9), 'k', `activation skipped (attr ${lv!.attr})`);
  t.true((await kernel.storage.volumeInfo('local-lvm:base-104-disk-0')).isBase);
  await t.throwsAsync(kernel.storage.createBase('local-lvm:vm-100-disk-0'), { code: ErrorCodes.conflict });
});

lvmTest('lvmthin allocation on this kernel: lvm2 refuses thin LVs without device-mapper, answered as NotSupportedError; nothing is left', async (t) => {
  const vg = await pveVg(t);
  const kernel = await installerKernel(t, vg);
  const before = await vg.lvm(LvmCommands.lvs('pve'));
  await t.throwsAsync(kernel.storage.allocate({ storage: 'local-lvm', vmid: 200, sizeBytes: 8 * MiB, content: 'rootdir' }), { code: ErrorCodes.notSupported, message: /device-mapper/ });
  t.deepEqual(parseLvsReport(await vg.lvm(LvmCommands.lvs('pve'))).map((x) => x.name), parseLvsReport(before).map((x) => x.name));
});

lvmTest('a definition naming a thin pool the VG does not have is InvalidConfigError naming thinpool', async (t) => {
  const vg = await pveVg(t);
  const kernel = await installerKernel(t, vg);
  const err = await t.throwsAsync(kernel.storage.add('other', 'lvmthin', { vgname: 'pve', thinpool: 'root' }, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig });
  t.is((err as { key?: string }).key, 'thinpool', 'root is a plain LV, not a thin pool');
});

lvmTest('lvmthin snapshot, rollback, template, linked clones and free on real metadata (ThinMetadataRunner completes only the kernel half lvm2 refuses)', async (t) => {
  const vg = await pveVg(t);
  const runner = new ThinMetadataRunner(vg);
  const { kernel, storageId } = await createLvmTestStorage(t, 'lvmthin', { vgname: 'pve', thinpool: 'data' }, { driver: { env: vg.env }, commandRunner: runner });
  const lvs = async () => parseLvsReport(await vg.lvm(LvmCommands.lvs('pve')));
  const row = async (name: string) => (await lvs()).find((x) => x.name === name);

  const volid = await kernel.storage.allocate({ storage: storageId, vmid: 300, sizeBytes: 8 * MiB });
  t.is(volid, `${storageId}:vm-300-disk-0`);
  t.like(await row('vm-300-disk-0'), { type: 'V', pool: 'data', sizeBytes: 8 * MiB });
  await t.throwsAsync(kernel.storage.allocate({ storage: storageId, vmid: 300, sizeBytes: 8 * MiB, name: 'vm-300-disk-0' }), { code: ErrorCodes.alreadyExists }, 'lvm2 itself refuses the taken name');

  await kernel.storage.snapshotCreate(volid, 'first');
  t.like(await row('snap_vm-300-disk-0_first'), { origin: 'vm-300-disk-0', pool: 'data' });
  t.is((await row('snap_vm-300-disk-0_first'))!.attr.charAt(1), 'r', 'read-only snapshot');
  t.deepEqual((await kernel.storage.snapshotList(volid)).map((s) => s.name), ['first']);
  await t.throwsAsync(kernel.storage.snapshotCreate(volid, 'first'), { code: ErrorCodes.alreadyExists });

  await kernel.storage.snapshotRollback(volid, 'first');
  t.like(await row('vm-300-disk-0'), { origin: 'snap_vm-300-disk-0_first' }, 're-created as a thin snapshot of the snapshot');
  t.falsy(await row('rollback_vm-300-disk-0'), 'the parked old state is removed');

  const clone = await kernel.storage.cloneLinked(volid, { vmid: 301, snapshot: 'first' });
  t.is(clone, `${storageId}:vm-301-disk-0`);
  t.like(await row('vm-301-disk-0'), { origin: 'snap_vm-300-disk-0_first' });
  t.is((await row('vm-301-disk-0'))!.attr.charAt(1), 'w', 'a clone is writable');

  await kernel.storage.snapshotDelete(volid, 'first');
  t.falsy(await row('snap_vm-300-disk-0_first'));
  const base = await kernel.storage.createBase(volid);
  t.is(base, `${storageId}:base-300-disk-0`);
  const fromBase = await kernel.storage.cloneLinked(base, { vmid: 302 });
  t.like(await kernel.storage.volumeInfo(fromBase), { volid: `${storageId}:vm-302-disk-0`, parent: base, isBase: false }, 'the clone names its base through the LV origin');

  await kernel.storage.snapshotCreate(clone, 'xs');
  await kernel.storage.free(clone);
  t.falsy(await row('snap_vm-301-disk-0_xs'), 'free removes the snapshots too');
  await t.throwsAsync(kernel.storage.free(base), { code: ErrorCodes.conflict, message: /linked clones: .*vm-302-disk-0/ }, 'a base with linked clones is not freed');
  t.deepEqual(await kernel.storage.linkedClones(base), [fromBase]);
  for (const v of [fromBase, base]) await kernel.storage.free(v);
  t.deepEqual((await kernel.storage.listVolumes(storageId, { vmid: 300 })).concat(await kernel.storage.listVolumes(storageId, { vmid: 302 })), []);
  t.true(runner.completed.length >= 5, `thin creates completed on metadata: ${runner.completed.join(', ')}`);
});

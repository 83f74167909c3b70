/**
 * What this kernel cannot run (no device-mapper): thin LV creation, thin snapshots and clones,
 * activation that makes a device node appear, and bytes through /dev/<vg>/<lv>. argv is
 * checked exactly; output is replayed from the real lvm2 recorded in test/fixtures (see its
 * README; `derived/` says what was changed); successful thin lvcreate/lvremove print nothing
 * the drivers read, so they are replayed with empty output. The device root is a private
 * directory in which the tests put the device node as udev would, a file of the LV's size.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { ErrorCodes } from '@corral/core';
import { makeTempDir, RecordingCommandRunner, type ScriptedCommand } from '@corral/core/testing';
import { LvmCommands } from '../src/index.js';
import { lvmFixture } from './support/lvmFixtures.js';
import { createLvmTestStorage } from './support/lvmTestStorage.js';

const VG = 'corralfixture';
const MiB = 1024 * 1024;
const ok = (match: ScriptedCommand['match'], stdout = ''): ScriptedCommand => ({ match, stdout });
const failed = (match: ScriptedCommand['match'], file: string, exitCode = 5): ScriptedCommand => ({ match, stderr: lvmFixture(file), exitCode });
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A kernel with storage `tank` of `type` on the recorded VG, answering from `script` first. */
async function setup(t: ExecutionContext, type: 'lvm' | 'lvmthin', script: ScriptedCommand[], listing = 'lvs-corralfixture.json') {
  const devRoot = await makeTempDir(t, 'corral-lvmdev-');
  await mkdir(join(devRoot, VG));
  const runner = new RecordingCommandRunner([
    ...script,
    ok(LvmCommands.vgs(VG), lvmFixture('vgs-corralfixture.json')),
    ok(LvmCommands.lvs(VG), lvmFixture(listing)),
    ok(LvmCommands.activate(VG, 'data', 'thin')),
  ]);
  const definition: Record<string, string> = type === 'lvm' ? { vgname: VG } : { vgname: VG, thinpool: 'data' };
  const { kernel } = await createLvmTestStorage(t, type, definition, { storageId: 'tank', driver: { deviceRoot: devRoot }, commandRunner: runner });
  runner.calls.length = 0;
  /** Puts the device node of `lv` in place, `size` bytes of `fill`. */
  const device = async (lv: string, size: number, fill = 0) => writeFile(join(devRoot, VG, lv), Buffer.alloc(size, fill));
  /** argv that are neither the listing nor the storage activation every facade call makes. */
  const changes = () => runner.argvs.filter((a) => a[0] !== 'lvs' && a[0] !== 'vgs' && !same(a, LvmCommands.activate(VG, 'data', 'thin')));
  return { kernel, runner, devRoot, device, changes };
}

test('lvmthin allocate: lvcreate -aly -V <KiB>k --name vm-100-disk-1 --thinpool <vg>/data, then autoactivation off', async (t) => {
  const create = LvmCommands.lvcreateThin(VG, 'data', 'vm-100-disk-1', 8 * MiB);
  t.deepEqual(create, ['lvcreate', '-aly', '-V', '8192k', '--name', 'vm-100-disk-1', '--thinpool', 'corralfixture/data']);
  const s = await setup(t, 'lvmthin', [ok(create), ok(LvmCommands.noAutoactivation(VG, 'vm-100-disk-1'))]);
  t.is(await s.kernel.storage.allocate({ storage: 'tank', vmid: 100, sizeBytes: 8 * MiB - 100, content: 'rootdir' }), 'tank:vm-100-disk-1', 'disk-0 is taken (recorded listing)');
  t.deepEqual(s.changes(), [create, ['lvchange', '--setautoactivation', 'n', 'corralfixture/vm-100-disk-1']]);
});

test('lvmthin allocate on a kernel without device-mapper: the recorded refusal is NotSupportedError naming device-mapper', async (t) => {
  const s = await setup(t, 'lvmthin', [failed(LvmCommands.lvcreateThin(VG, 'data', 'vm-103-disk-0', 8 * MiB), 'lvcreate-thin-no-dm.txt')]);
  await t.throwsAsync(s.kernel.storage.allocate({ storage: 'tank', vmid: 103, sizeBytes: 8 * MiB }), { code: ErrorCodes.notSupported, message: /device-mapper/ });
});

test('lvmthin listing and status from recorded lvs: thin LVs of the pool, bases, clones with their base as parent; snapshots, pool and plain LVs are not volumes', async (t) => {
  const s = await setup(t, 'lvmthin', []);
  const all = await s.kernel.storage.listVolumes('tank');
  t.deepEqual(
    all.map((v) => [v.volid, v.sizeBytes, v.isBase, v.parent ?? null, v.ctime]),
    [
      ['tank:base-101-disk-0', 16 * MiB, true, null, 1796600120],
      ['tank:vm-100-disk-0', 8 * MiB, false, null, 1796600000],
      ['tank:vm-102-disk-0', 16 * MiB, false, 'tank:base-101-disk-0', 1796600180],
    ],
  );
  t.deepEqual(await s.kernel.storage.snapshotList('tank:vm-100-disk-0'), [{ name: 's1', ctime: 1796600060 }]);
  const recorded = await s.kernel.storage.status('tank');
  t.like(recorded, { active: true, totalBytes: 64 * MiB, usedBytes: 0 }, 'activation disabled: state X, no data_percent');
  const active = await setup(t, 'lvmthin', [], 'derived/lvs-active-host.json');
  t.like(await active.kernel.storage.status('tank'), { active: true, totalBytes: 64 * MiB, usedBytes: 16 * MiB, availableBytes: 48 * MiB });
  t.is((await active.kernel.storage.volumeInfo('tank:vm-100-disk-0')).usedBytes, 4 * MiB, 'a thin LV reports data_percent of its size as used');
});

test('lvmthin snapshots: lvcreate -n snap_<vol>_<snap> -pr -s; rollback re-creates the volume from the snapshot (old state parked, removed after); delete is lvremove', async (t) => {
  const snap = LvmCommands.thinSnapshot(VG, 'vm-100-disk-0', 'snap_vm-100-disk-0_s2');
  t.deepEqual(snap, ['lvcreate', '-n', 'snap_vm-100-disk-0_s2', '-pr', '-s', 'corralfixture/vm-100-disk-0']);
  const restore = LvmCommands.thinRestore(VG, 'snap_vm-100-disk-0_s1', 'vm-100-disk-0');
  t.deepEqual(restore, ['lvcreate', '-kn', '-n', 'vm-100-disk-0', '-s', 'corralfixture/snap_vm-100-disk-0_s1']);
  const s = await setup(t, 'lvmthin', [
    ok(snap),
    ok(LvmCommands.lvrename(VG, 'vm-100-disk-0', 'rollback_vm-100-disk-0')),
    ok(restore),
    ok(LvmCommands.noAutoactivation(VG, 'vm-100-disk-0')),
    ok(LvmCommands.lvremove(VG, 'rollback_vm-100-disk-0')),
    ok(LvmCommands.lvremove(VG, 'snap_vm-100-disk-0_s1')),
  ]);
  await s.kernel.storage.snapshotCreate('tank:vm-100-disk-0', 's2');
  t.deepEqual(s.changes(), [snap]);
  s.runner.calls.length = 0;
  await s.kernel.storage.snapshotRollback('tank:vm-100-disk-0', 's1');
  t.deepEqual(s.changes(), [
    ['lvrename', VG, 'vm-100-disk-0', 'rollback_vm-100-disk-0'],
    restore,
    ['lvchange', '--setautoactivation', 'n', 'corralfixture/vm-100-disk-0'],
    ['lvremove', '-f', 'corralfixture/rollback_vm-100-disk-0'],
  ]);
  s.runner.calls.length = 0;
  await s.kernel.storage.snapshotDelete('tank:vm-100-disk-0', 's1');
  t.deepEqual(s.changes(), [['lvremove', '-f', 'corralfixture/snap_vm-100-disk-0_s1']]);
  await t.throwsAsync(s.kernel.storage.snapshotDelete('tank:vm-100-disk-0', 'nosuch'), { code: ErrorCodes.notFound });
});

test('lvmthin rollback that cannot re-create the volume renames the old state back (nothing lost)', async (t) => {
  const s = await setup(t, 'lvmthin', [
    ok(LvmCommands.lvrename(VG, 'vm-100-disk-0', 'rollback_vm-100-disk-0')),
    failed(LvmCommands.thinRestore(VG, 'snap_vm-100-disk-0_s1', 'vm-100-disk-0'), 'lvcreate-thin-snapshot-no-dm.txt'),
    ok(LvmCommands.lvrename(VG, 'rollback_vm-100-disk-0', 'vm-100-disk-0')),
  ]);
  await t.throwsAsync(s.kernel.storage.snapshotRollback('tank:vm-100-disk-0', 's1'), { code: ErrorCodes.notSupported });
  t.deepEqual(s.changes().at(-1), ['lvrename', VG, 'rollback_vm-100-disk-0', 'vm-100-disk-0']);
});

test('lvmthin free removes the snapshots first, then the volume', async (t) => {
  const s = await setup(t, 'lvmthin', [ok(LvmCommands.lvremove(VG, 'snap_vm-100-disk-0_s1')), ok(LvmCommands.lvremove(VG, 'vm-100-disk-0'))]);
  await s.kernel.storage.free('tank:vm-100-disk-0');
  t.deepEqual(s.changes(), [
    ['lvremove', '-f', 'corralfixture/snap_vm-100-disk-0_s1'],
    ['lvremove', '-f', 'corralfixture/vm-100-disk-0'],
  ]);
  await t.throwsAsync(s.kernel.storage.free('tank:vm-999-disk-0'), { code: ErrorCodes.notFound });
});

test('lvmthin template: lvrename vm→base, lvchange -pr -ky, lvchange -an; refused while snapshots exist', async (t) => {
  const s = await setup(t, 'lvmthin', [
    ok(LvmCommands.lvrename(VG, 'vm-102-disk-0', 'base-102-disk-0')),
    { match: LvmCommands.makeBase(VG, 'base-102-disk-0'), stderr: lvmFixture('lvchange-makebase.txt') },
    ok(LvmCommands.deactivate(VG, 'base-102-disk-0', 'thin')),
  ]);
  await t.throwsAsync(s.kernel.storage.createBase('tank:vm-100-disk-0'), { code: ErrorCodes.conflict, message: /snapshots \(s1\)/ });
  t.is(await s.kernel.storage.createBase('tank:vm-102-disk-0'), 'tank:base-102-disk-0');
  t.deepEqual(s.changes(), [
    ['lvrename', VG, 'vm-102-disk-0', 'base-102-disk-0'],
    ['lvchange', '-pr', '-ky', 'corralfixture/base-102-disk-0'],
    ['lvchange', '-an', 'corralfixture/base-102-disk-0'],
  ]);
});

test('lvmthin linked clones: lvcreate -n <name> -prw -kn -s of a base or of a snapshot', async (t) => {
  const fromBase = LvmCommands.thinClone(VG, 'base-101-disk-0', 'vm-103-disk-0');
  t.deepEqual(fromBase, ['lvcreate', '-n', 'vm-103-disk-0', '-prw', '-kn', '-s', 'corralfixture/base-101-disk-0']);
  const fromSnap = LvmCommands.thinClone(VG, 'snap_vm-100-disk-0_s1', 'vm-104-disk-0');
  const s = await setup(t, 'lvmthin', [
    ok(fromBase),
    ok(fromSnap),
    ok(LvmCommands.noAutoactivation(VG, 'vm-103-disk-0')),
    ok(LvmCommands.noAutoactivation(VG, 'vm-104-disk-0')),
  ]);
  t.is(await s.kernel.storage.cloneLinked('tank:base-101-disk-0', { vmid: 103 }), 'tank:vm-103-disk-0');
  t.is(await s.kernel.storage.cloneLinked('tank:vm-100-disk-0', { vmid: 104, snapshot: 's1' }), 'tank:vm-104-disk-0');
  t.deepEqual(s.changes(), [fromBase, LvmCommands.noAutoactivation(VG, 'vm-103-disk-0'), fromSnap, LvmCommands.noAutoactivation(VG, 'vm-104-disk-0')]);
});

test('lvmthin resolve: lvchange -ay -K of the LV (or its snapshot LV), then the device node /dev/<vg>/<lv>', async (t) => {
  const s = await setup(t, 'lvmthin', [ok(LvmCommands.activate(VG, 'vm-100-disk-0', 'thin')), ok(LvmCommands.activate(VG, 'snap_vm-100-disk-0_s1', 'thin'))]);
  await s.device('vm-100-disk-0', 8 * MiB);
  await s.device('snap_vm-100-disk-0_s1', 8 * MiB);
  t.deepEqual(await s.kernel.storage.resolve('tank:vm-100-disk-0', { consumer: 'qemu' }), { kind: 'block', path: join(s.devRoot, VG, 'vm-100-disk-0'), format: 'raw' });
  t.deepEqual(await s.kernel.storage.resolve('tank:vm-100-disk-0', { consumer: 'host', snapshot: 's1' }), {
    kind: 'block',
    path: join(s.devRoot, VG, 'snap_vm-100-disk-0_s1'),
    format: 'raw',
  });
  t.deepEqual(s.changes(), [['lvchange', '-ay', '-K', 'corralfixture/vm-100-disk-0'], ['lvchange', '-ay', '-K', 'corralfixture/snap_vm-100-disk-0_s1']]);
});

test('lvmthin raw+size: export reads the device after the LV size; import creates a thin LV and writes only non-zero blocks; a short stream removes it', async (t) => {
  const s = await setup(t, 'lvmthin', [
    ok(LvmCommands.activate(VG, 'vm-100-disk-0', 'thin')),
    ok(LvmCommands.lvcreateThin(VG, 'data', 'vm-105-disk-0', 2 * MiB)),
    ok(LvmCommands.noAutoactivation(VG, 'vm-105-disk-0')),
    ok(LvmCommands.activate(VG, 'vm-105-disk-0', 'thin')),
    ok(LvmCommands.lvcreateThin(VG, 'data', 'vm-106-disk-0', 2 * MiB)),
    ok(LvmCommands.noAutoactivation(VG, 'vm-106-disk-0')),
    ok(LvmCommands.activate(VG, 'vm-106-disk-0', 'thin')),
    ok(LvmCommands.lvremove(VG, 'vm-106-disk-0')),
  ]);
  const bytes = Buffer.alloc(8 * MiB);
  bytes.fill(0xab, MiB, 2 * MiB);
  await writeFile(join(s.devRoot, VG, 'vm-100-disk-0'), bytes);
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await s.kernel.storage.exportVolume('tank:vm-100-disk-0', { format: 'raw+size', stream: out });
  const data = Buffer.concat(chunks);
  t.is(Number(data.readBigUInt64LE(0)), 8 * MiB);
  t.true(data.subarray(8).equals(bytes));

  // The new thin LV's node reads 0xee where nothing is written, so skipped blocks are visible.
  await s.device('vm-105-disk-0', 2 * MiB, 0xee);
  await s.device('vm-106-disk-0', 2 * MiB, 0xee);
  const body = Buffer.alloc(2 * MiB);
  body.fill(0x42, 0, 4096);
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(body.length));
  t.is(await s.kernel.storage.importVolume({ storage: 'tank', vmid: 105, format: 'raw+size', stream: Readable.from([header, body]) }), 'tank:vm-105-disk-0');
  const dev = await readFile(join(s.devRoot, VG, 'vm-105-disk-0'));
  t.true(dev.subarray(0, 4096).equals(body.subarray(0, 4096)), 'data written');
  t.is(dev[64 * 1024], 0xee, 'zero blocks skipped (dd conv=sparse: a thin LV reads zeros there)');

  await t.throwsAsync(s.kernel.storage.importVolume({ storage: 'tank', vmid: 106, format: 'raw+size', stream: Readable.from([header, body.subarray(0, MiB)]) }), { code: ErrorCodes.parse });
  t.true(s.runner.argvs.some((a) => same(a, LvmCommands.lvremove(VG, 'vm-106-disk-0'))), 'undo: the LV of the failed import is removed');
});

test('lvm saferemove with a device node: lvrename del-<name>, lvchange -aly and --refresh, zeros over the whole LV in steps, lvremove', async (t) => {
  const s = await setup(t, 'lvm', [
    ok(LvmCommands.lvrename(VG, 'vm-110-disk-0', 'del-vm-110-disk-0')),
    { match: LvmCommands.activate(VG, 'del-vm-110-disk-0', 'local'), stderr: lvmFixture('lvchange-activate.txt') },
    ok(LvmCommands.refresh(VG, 'del-vm-110-disk-0')),
    ok(LvmCommands.lvremove(VG, 'del-vm-110-disk-0')),
  ]);
  await s.kernel.storage.update('tank', { saferemove: '1', 'saferemove-stepsize': '1' });
  await s.device('del-vm-110-disk-0', 8 * MiB, 0x5a);
  await s.kernel.storage.free('tank:vm-110-disk-0');
  t.deepEqual(s.changes(), [
    ['lvrename', VG, 'vm-110-disk-0', 'del-vm-110-disk-0'],
    ['lvchange', '-aly', 'corralfixture/del-vm-110-disk-0'],
    ['lvchange', '--refresh', 'corralfixture/del-vm-110-disk-0'],
    ['lvremove', '-f', 'corralfixture/del-vm-110-disk-0'],
  ]);
  t.true((await readFile(join(s.devRoot, VG, 'del-vm-110-disk-0'))).equals(Buffer.alloc(8 * MiB)), 'every byte of the LV was zeroed before lvremove');
});

test('lvm raw+size import writes every byte (a plain LV holds old data); resolve is -aey + --refresh with io_uring off', async (t) => {
  const s = await setup(t, 'lvm', [
    ok(LvmCommands.lvcreate(VG, 'vm-120-disk-0', 2 * MiB, ['pve-vm-120'])),
    ok(LvmCommands.activate(VG, 'vm-120-disk-0', 'exclusive')),
    ok(LvmCommands.refresh(VG, 'vm-120-disk-0')),
    ok(LvmCommands.activate(VG, 'vm-110-disk-0', 'exclusive')),
    ok(LvmCommands.refresh(VG, 'vm-110-disk-0')),
  ]);
  await s.device('vm-120-disk-0', 4 * MiB, 0xff);
  const body = Buffer.alloc(2 * MiB);
  body.fill(0x42, MiB, MiB + 10);
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(body.length));
  t.is(await s.kernel.storage.importVolume({ storage: 'tank', vmid: 120, format: 'raw+size', stream: Readable.from([header, body]) }), 'tank:vm-120-disk-0');
  t.deepEqual(s.changes().slice(0, 1), [['lvcreate', '-aly', '-Wy', '--yes', '--size', '2048k', '--name', 'vm-120-disk-0', '--setautoactivation', 'n', '--addtag', 'pve-vm-120', VG]]);
  const dev = await readFile(join(s.devRoot, VG, 'vm-120-disk-0'));
  t.true(dev.subarray(0, 2 * MiB).equals(body), 'zeros of the stream overwrote the old 0xff bytes');

  await s.device('vm-110-disk-0', 8 * MiB);
  t.deepEqual(await s.kernel.storage.resolve('tank:vm-110-disk-0', { consumer: 'qemu' }), {
    kind: 'block',
    path: join(s.devRoot, VG, 'vm-110-disk-0'),
    format: 'raw',
    qemuHints: { ioUring: 'never' },
  });
  t.deepEqual(s.changes().slice(-2), [['lvchange', '-aey', 'corralfixture/vm-110-disk-0'], ['lvchange', '--refresh', 'corralfixture/vm-110-disk-0']]);
});

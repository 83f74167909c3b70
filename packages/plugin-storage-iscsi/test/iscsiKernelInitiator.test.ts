import test from 'ava';
import { mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, MemoryLogger, NodeCommandRunner, type StorageContext } from '@corral/core';
import { hasProgram, realTest, RecordingCommandRunner, type ScriptedCommand } from '@corral/core/testing';
import { collectStream } from '@corral/storage-testkit';
import { IscsiStorageDriver, parseIscsiSessions, parseIscsiTargets } from '../src/index.js';
import { answer } from './support/iscsiFixtures.js';
import { createIscsiSysfsTree, OTHER_TARGET, TREE_TARGET, VOL_DISK, VOL_MPATH, VOL_OTHER, type IscsiSysfsTree } from './support/iscsiSysfsTree.js';

const PORTAL = '192.168.122.252';
const T = TREE_TARGET;

// Logged-in sessions cannot exist on this kernel (no iscsi_tcp), so their iscsiadm lines are
// the formats quoted in Proxmox's ISCSIPlugin.pm (pve-storage, src/PVE/Storage/ISCSIPlugin.pm):
// `tcp: [1] 192.168.122.252:3260,1 <target> (non-flash)` for sessions and
// `192.168.122.252:3260,1 <target>` for node records and discovery. Outputs of a host without
// sessions are recorded (test/fixtures).
const SESSION_LINE = `tcp: [1] ${PORTAL}:3260,1 ${T} (non-flash)\ntcp: [2] 10.0.0.9:3260,1 ${OTHER_TARGET} (non-flash)\n`;
const NODE_LINES = `${PORTAL}:3260,1 ${T}\n10.0.0.9:3260,1 ${OTHER_TARGET}\n`;

function ctx(runner: RecordingCommandRunner | NodeCommandRunner, portal = PORTAL): StorageContext & { log: MemoryLogger } {
  return {
    storage: { id: 'san', type: 'iscsi', content: ['images'], nodes: [], disabled: false, shared: true, options: { portal, target: T } },
    secrets: {},
    node: 'n1',
    runner,
    runDir: '/nonexistent',
    log: new MemoryLogger(),
  };
}

const sessions = (stdout: string): ScriptedCommand => ({ match: ['iscsiadm', '--mode', 'session'], stdout });
const noSessions = answer(['iscsiadm', '--mode', 'session'], 'iscsiadm-session-none.txt');

test('parses iscsiadm session and node lines (Proxmox formats)', (t) => {
  t.deepEqual([...parseIscsiSessions(SESSION_LINE)], [
    [T, [{ sessionId: 1, portal: `${PORTAL}:3260` }]],
    [OTHER_TARGET, [{ sessionId: 2, portal: '10.0.0.9:3260' }]],
  ]);
  t.deepEqual([...parseIscsiTargets(`${NODE_LINES}[fd00::1]:3260,1 ${T}\n`)], [
    [T, [`${PORTAL}:3260`, '[fd00::1]:3260'],
    ],
    [OTHER_TARGET, ['10.0.0.9:3260']],
  ]);
});

test('activate without a session: discovery, login retries off, login, in Proxmox order; a failed login is UnavailableError', async (t) => {
  const runner = new RecordingCommandRunner([
    noSessions,
    answer(['iscsiadm', '--mode', 'node'], 'iscsiadm-node-none.txt'),
    answer({ prefix: ['iscsiadm', '--mode', 'discovery'] }, 'iscsiadm-discovery-no-iscsi-tcp.txt'),
    answer({ prefix: ['iscsiadm', '--mode', 'node', '--targetname', T, '--op', 'update'] }, 'iscsiadm-update-no-record.txt'),
    answer(['iscsiadm', '--mode', 'node', '--targetname', T, '--login'], 'iscsiadm-login-no-record.txt'),
  ]);
  const c = ctx(runner);
  await t.throwsAsync(new IscsiStorageDriver().activate(c), { code: ErrorCodes.unavailable, message: new RegExp(`login to ${T} failed: iscsiadm: No records found`) });
  t.deepEqual(runner.argvs, [
    ['iscsiadm', '--mode', 'session'],
    ['iscsiadm', '--mode', 'node'],
    ['iscsiadm', '--mode', 'discovery', '--type', 'sendtargets', '--portal', PORTAL],
    ['iscsiadm', '--mode', 'node', '--targetname', T, '--op', 'update', '--name', 'node.session.initial_login_retry_max', '--value', '0'],
    ['iscsiadm', '--mode', 'node', '--targetname', T, '--login'],
  ]);
  t.true(c.log.lines.some((l) => /discovery on 192\.168\.122\.252 failed/.test(l.message)), 'the failed discovery is logged');
});

test('activate with a session on every portal rescans it; a portal of the node database without a session logs in', async (t) => {
  const rescan = new RecordingCommandRunner([sessions(SESSION_LINE), { match: ['iscsiadm', '--mode', 'node'], stdout: NODE_LINES }, { match: { prefix: ['iscsiadm', '--mode', 'session', '--sid'] } }]);
  await new IscsiStorageDriver().activate(ctx(rescan));
  t.deepEqual(rescan.argvs.at(-1), ['iscsiadm', '--mode', 'session', '--sid', '1', '--rescan']);
  t.false(rescan.argvs.some((a) => a.includes('--login')));

  const multipath = new RecordingCommandRunner([
    sessions(SESSION_LINE),
    { match: ['iscsiadm', '--mode', 'node'], stdout: `${NODE_LINES}192.168.123.252:3260,1 ${T}\n` },
    { match: { prefix: ['iscsiadm', '--mode', 'discovery'] }, stdout: `${PORTAL}:3260,1 ${T}\n192.168.123.252:3260,1 ${T}\n` },
    { match: { prefix: ['iscsiadm', '--mode', 'node', '--targetname', T] } },
  ]);
  await new IscsiStorageDriver().activate(ctx(multipath));
  t.deepEqual(multipath.argvs.slice(2), [
    ['iscsiadm', '--mode', 'discovery', '--type', 'sendtargets', '--portal', `${PORTAL}:3260`],
    ['iscsiadm', '--mode', 'node', '--targetname', T, '--op', 'update', '--name', 'node.session.initial_login_retry_max', '--value', '0'],
    ['iscsiadm', '--mode', 'node', '--targetname', T, '--login'],
  ]);
});

test('deactivate logs out only when a session exists; a missing iscsiadm is UnavailableError naming open-iscsi', async (t) => {
  const none = new RecordingCommandRunner([noSessions]);
  await new IscsiStorageDriver().deactivate(ctx(none));
  t.deepEqual(none.argvs, [['iscsiadm', '--mode', 'session']]);
  const one = new RecordingCommandRunner([sessions(SESSION_LINE), { match: ['iscsiadm', '--mode', 'node', '--targetname', T, '--logout'] }]);
  await new IscsiStorageDriver().deactivate(ctx(one));
  t.deepEqual(one.argvs.at(-1), ['iscsiadm', '--mode', 'node', '--targetname', T, '--logout']);
  const bare = ctx(new NodeCommandRunner({ env: { PATH: '/nonexistent' } }));
  await t.throwsAsync(new IscsiStorageDriver().activate(bare), { code: ErrorCodes.unavailable, message: /open-iscsi/ });
  t.false((await new IscsiStorageDriver().status(bare)).active);
});

const treeTest = realTest(test, ['losetup', 'mknod', 'blockdev'].every(hasProgram), 'losetup, mknod or blockdev missing (util-linux, coreutils)');
let tree: IscsiSysfsTree | undefined;
test.before(async () => {
  if (['losetup', 'mknod', 'blockdev'].every(hasProgram)) tree = await createIscsiSysfsTree();
});
test.after.always(async () => {
  await tree?.destroy();
});

treeTest('lists the disk LUNs of its own target from sysfs and /dev/disk/by-id (multipath map for a LUN under dm)', async (t) => {
  const d = new IscsiStorageDriver({ roots: tree! });
  const c = ctx(new RecordingCommandRunner([sessions(SESSION_LINE)]));
  const vols = await d.listVolumes(c, {});
  t.deepEqual(vols.map((v) => [v.volid, v.sizeBytes, v.format, v.content, v.vmid]), [
    [`san:${VOL_DISK}`, tree!.sizes.sdb, 'raw', 'images', undefined],
    [`san:${VOL_MPATH}`, tree!.sizes['dm-0'], 'raw', 'images', undefined],
  ]);
  t.deepEqual(await d.listVolumes(c, { vmid: 100 }), []);
  t.is((await d.volumeInfo(c, VOL_DISK)).sizeBytes, tree!.sizes.sdb);
  await t.throwsAsync(d.volumeInfo(c, VOL_OTHER), { code: ErrorCodes.notFound });
  t.deepEqual(await d.status(c), { active: true, totalBytes: tree!.sizes.sdb! + tree!.sizes['dm-0']!, usedBytes: tree!.sizes.sdb! + tree!.sizes['dm-0']!, availableBytes: 0 });
  t.false((await d.status(ctx(new RecordingCommandRunner([noSessions])))).active);
});

treeTest('resolves to the by-id block device after checking it belongs to the target; exports raw+size from it', async (t) => {
  const d = new IscsiStorageDriver({ roots: tree! });
  const c = ctx(new NodeCommandRunner());
  for (const consumer of ['qemu', 'host', 'container'] as const) {
    t.deepEqual(await d.resolve(c, VOL_DISK, { consumer }), { kind: 'block', path: `${tree!.dev}/disk/by-id/scsi-360000000000000000e00000000010001`, format: 'raw' });
  }
  t.deepEqual(await d.resolve(c, VOL_MPATH, { consumer: 'qemu' }), { kind: 'block', path: `${tree!.dev}/disk/by-id/dm-uuid-mpath-360000000000000000e00000000010002`, format: 'raw' });
  await t.throwsAsync(d.resolve(c, VOL_OTHER, { consumer: 'qemu' }), { code: ErrorCodes.notFound });
  await t.throwsAsync(d.resolve(c, '0.0.9.scsi-3missing', { consumer: 'qemu' }), { code: ErrorCodes.notFound });
  await t.throwsAsync(d.resolve(c, VOL_DISK, { consumer: 'qemu', snapshot: 's1' }), { code: ErrorCodes.notSupported });

  const { stream, done } = collectStream();
  await d.exportVolume(c, VOL_DISK, { format: 'raw+size', stream });
  const data = await done;
  const file = await readFile(tree!.files.sdb!);
  t.is(data.readBigUInt64LE(0), BigInt(file.length));
  t.true(data.subarray(8).equals(file));
  await t.throwsAsync(new IscsiStorageDriver({ roots: tree! }).allocate(c, { vmid: 100, name: 'vm-100-disk-0', format: 'raw', sizeBytes: 1 << 20, content: 'images' }), { code: ErrorCodes.notSupported });
});

treeTest("resolve and export refuse a by-id name the target's listing does not give (another guest's LV over its LUN), and a map with a device of another target", async (t) => {
  const d = new IscsiStorageDriver({ roots: tree! });
  const c = ctx(new NodeCommandRunner());
  // LVM over iSCSI: udev names the LV of guest 200 (a dm device over the target's LUN) in by-id.
  const lv = 'dm-name-sanvg-vm--200--disk--0';
  await symlink('../../dm-0', join(tree!.dev, 'disk', 'by-id', lv));
  const volname = `0.0.2.${lv}`;
  t.false((await d.listVolumes(c, {})).some((v) => v.volname === volname));
  for (const consumer of ['qemu', 'host'] as const) {
    await t.throwsAsync(d.resolve(c, volname, { consumer }), { code: ErrorCodes.notFound, message: new RegExp(`san:${volname}`) });
  }
  const { stream } = collectStream();
  await t.throwsAsync(d.exportVolume(c, volname, { format: 'raw+size', stream }), { code: ErrorCodes.notFound });
  t.is((await d.resolve(c, VOL_MPATH, { consumer: 'qemu' })).kind, 'block');

  // The listed multipath map gets a path on another target's LUN (sdd): refused.
  const foreignSlave = join(tree!.sys, 'devices', 'virtual', 'block', 'dm-0', 'slaves', 'sdd');
  await mkdir(foreignSlave);
  try {
    await t.throwsAsync(d.resolve(c, VOL_MPATH, { consumer: 'qemu' }), { code: ErrorCodes.invalidState, message: /not part of target.*4:0:0:1/ });
  } finally {
    await rm(foreignSlave, { recursive: true });
  }
  t.is((await d.resolve(c, VOL_MPATH, { consumer: 'qemu' })).kind, 'block');
});

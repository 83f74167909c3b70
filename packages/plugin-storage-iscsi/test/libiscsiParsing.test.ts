import test from 'ava';
import { ErrorCodes, MemoryLogger, NodeCommandRunner, type StorageContext } from '@corral/core';
import { RecordingCommandRunner } from '@corral/core/testing';
import { IscsiDirectStorageDriver, parseIscsiDirectVolname, parseIscsiLs, parseIscsiVolname, parseReadCapacity16, iscsiOptions } from '../src/index.js';
import { answer, recorded } from './support/iscsiFixtures.js';

const PORTAL = '127.0.0.1:3260';
const TARGET = 'iqn.2026-12.org.corral.test:disks';
const URL = `iscsi://${PORTAL}/${TARGET}`;

function ctx(runner: RecordingCommandRunner, options: Record<string, string> = { portal: PORTAL, target: TARGET }): StorageContext {
  return {
    storage: { id: 'san', type: 'iscsidirect', content: ['images'], nodes: [], disabled: false, shared: true, options },
    secrets: {},
    node: 'n1',
    runner,
    runDir: '/nonexistent',
    log: new MemoryLogger(),
  };
}

test('parseIscsiLs keeps each target apart (iscsi-ls lists every target of the portal)', (t) => {
  const targets = parseIscsiLs(recorded('iscsi-ls-two-targets.txt').stdout);
  t.deepEqual(
    targets.map((x) => [x.target, x.portal, x.luns.map((l) => [l.lun, l.type, l.shownSizeBytes])]),
    [
      ['iqn.2026-12.org.corral.test:other', '127.0.0.1:3260,1', [[0, 'STORAGE_ARRAY_CONTROLLER', undefined], [1, 'DIRECT_ACCESS', 99 * 1024]]],
      [TARGET, '127.0.0.1:3260,1', [[0, 'STORAGE_ARRAY_CONTROLLER', undefined], [1, 'DIRECT_ACCESS', 63 * 1024 ** 2], [2, 'DIRECT_ACCESS', 2 * 1024 ** 3]]],
    ],
  );
  t.throws(() => parseIscsiLs('Lun:1    Type:DIRECT_ACCESS (Size:1G)'), { code: ErrorCodes.parse, message: /before any Target/ });
  t.throws(() => parseIscsiLs('Target:x Portal:y\nsomething else'), { code: ErrorCodes.parse, message: /:2: unexpected line/ });
});

test('parseReadCapacity16 reads the exact size (the 3 GiB LUN iscsi-ls shows as 2G)', (t) => {
  t.is(parseReadCapacity16(recorded('iscsi-readcapacity16-lun2.txt').stdout), 3 * 1024 ** 3);
  t.throws(() => parseReadCapacity16('RETURNED LOGICAL BLOCK ADDRESS:1\n'), { code: ErrorCodes.parse });
});

test('volume names: lun<N> for iscsidirect, <channel>.<id>.<lun>.<by-id name> for iscsi', (t) => {
  t.like(parseIscsiDirectVolname('lun7'), { lun: 7, content: 'images', format: 'raw', isBase: false, vmid: undefined });
  for (const bad of ['lun', 'lun01', 'lun-1', 'lun16384', 'LUN1', 'lun1/x', '0.0.1.scsi-3600']) {
    t.throws(() => parseIscsiDirectVolname(bad), { code: ErrorCodes.invalidVolumeId }, bad);
  }
  t.like(parseIscsiVolname('0.0.1.scsi-360000000000000000e00000000010001'), { channel: 0, scsiId: 0, lun: 1, name: 'scsi-360000000000000000e00000000010001', format: 'raw' });
  t.like(parseIscsiVolname('1.2.3.dm-uuid-mpath-3600140512'), { channel: 1, scsiId: 2, lun: 3, name: 'dm-uuid-mpath-3600140512' });
  for (const bad of ['lun1', '0.0.1', '0.0.1.a/b', '0.0.1.', 'a.0.1.x', '0.0.1.a b', '0.0.1...']) {
    t.throws(() => parseIscsiVolname(bad), { code: ErrorCodes.invalidVolumeId }, bad);
  }
});

test('options: portal host[:port] (IPv4, [IPv6], DNS) and target are required and checked', (t) => {
  const def = (options: Record<string, string>) => ctx(new RecordingCommandRunner(), options).storage;
  t.deepEqual(iscsiOptions(def({ portal: '[fd00::1]:3261', target: TARGET })), { portal: '[fd00::1]:3261', target: TARGET });
  t.deepEqual(iscsiOptions(def({ portal: 'san.example.org', target: TARGET })), { portal: 'san.example.org', target: TARGET });
  t.throws(() => iscsiOptions(def({ target: TARGET })), { code: ErrorCodes.invalidConfig, message: /portal/ });
  t.throws(() => iscsiOptions(def({ portal: 'a b', target: TARGET })), { code: ErrorCodes.invalidConfig, message: /portal/ });
  t.throws(() => iscsiOptions(def({ portal: '10.0.0.1:70000', target: TARGET })), { code: ErrorCodes.invalidConfig, message: /outside 1\.\.65535/ });
  t.throws(() => iscsiOptions(def({ portal: PORTAL, target: 'iqn/../x' })), { code: ErrorCodes.invalidConfig, message: /target/ });
  t.throws(() => iscsiOptions(def({ portal: PORTAL })), { code: ErrorCodes.invalidConfig, message: /target/ });
});

test('iscsidirect argv and recorded answers: only its own target, exact sizes, errors coded', async (t) => {
  const runner = new RecordingCommandRunner([
    answer(['iscsi-ls', '-s', URL], 'iscsi-ls-two-targets.txt'),
    { match: ['iscsi-readcapacity16', `${URL}/1`], stdout: 'Total size:67108864\n' },
    answer(['iscsi-readcapacity16', `${URL}/2`], 'iscsi-readcapacity16-lun2.txt'),
    answer(['iscsi-readcapacity16', `${URL}/9`], 'iscsi-readcapacity16-missing-lun.txt'),
  ]);
  const d = new IscsiDirectStorageDriver();
  const vols = await d.listVolumes(ctx(runner), {});
  t.deepEqual(vols.map((v) => [v.volid, v.sizeBytes]), [['san:lun1', 64 * 1024 ** 2], ['san:lun2', 3 * 1024 ** 3]]);
  t.deepEqual(runner.argvs, [['iscsi-ls', '-s', URL], ['iscsi-readcapacity16', `${URL}/1`], ['iscsi-readcapacity16', `${URL}/2`]]);
  await t.throwsAsync(d.volumeInfo(ctx(runner), 'lun9'), { code: ErrorCodes.notFound, message: /san:lun9/ });
  t.deepEqual(await d.listVolumes(ctx(runner), { vmid: 100 }), []);
  t.deepEqual(await d.listVolumes(ctx(runner), { content: 'rootdir' }), []);
});

test('iscsidirect: a refused portal and an unknown target are UnavailableError; status is inactive then', async (t) => {
  const refused = new RecordingCommandRunner([answer({ prefix: ['iscsi-ls'] }, 'iscsi-ls-refused.txt')]);
  const d = new IscsiDirectStorageDriver();
  await t.throwsAsync(d.listVolumes(ctx(refused), {}), { code: ErrorCodes.unavailable, message: /cannot reach iSCSI portal 127\.0\.0\.1:3260/ });
  t.deepEqual(await d.status(ctx(refused)), { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 });
  const noTarget = new RecordingCommandRunner([answer({ prefix: ['iscsi-readcapacity16'] }, 'iscsi-readcapacity16-missing-target.txt')]);
  await t.throwsAsync(d.volumeInfo(ctx(noTarget), 'lun1'), { code: ErrorCodes.unavailable, message: /has no target/ });
  // A missing program: the real runner's NotFoundError becomes UnavailableError naming the package.
  const bare = { ...ctx(new RecordingCommandRunner()), runner: new NodeCommandRunner({ env: { PATH: '/nonexistent' } }) };
  await t.throwsAsync(d.listVolumes(bare, {}), { code: ErrorCodes.unavailable, message: /libiscsi-bin/ });
});

/**
 * The argv the driver runs (checked with a RecordingCommandRunner on a plain temp directory
 * that mimics the layout), and the parsers of btrfs-progs output, on output recorded from
 * btrfs-progs v6.2 (see the headers of test/fixtures/*.txt; test/support/recordBtrfsFixtures.ts
 * records them again).
 */
import test, { type ExecutionContext } from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, toStorageDefinition, type StorageContext } from '@corral/core';
import { makeTempDir, RecordingCommandRunner } from '@corral/core/testing';
import { BTRFS_STORAGE_INFO, BtrfsStorageDriver, parseBtrfsVolname, parseQgroupShow, parseSubvolumeList } from '../src/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');

/** A recorded fixture without its `#` header. */
async function fixture(name: string): Promise<string> {
  return (await readFile(join(fixtures, name), 'utf8'))
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

async function setup(t: ExecutionContext) {
  const root = await makeTempDir(t, 'corral-btrfs-argv-');
  const runner = new RecordingCommandRunner([{ match: { prefix: ['btrfs'] } }, { match: { prefix: ['cp'] } }]);
  const ctx: StorageContext = {
    storage: toStorageDefinition('bt', BTRFS_STORAGE_INFO, { path: root, content: 'images,rootdir' }),
    secrets: {},
    node: 'n1',
    runner,
    runDir: root,
    log: silentLogger,
  };
  const guest = join(root, 'images/100');
  await mkdir(join(guest, 'vm-100-disk-0'), { recursive: true });
  await writeFile(join(guest, 'vm-100-disk-0/disk.raw'), '');
  await mkdir(join(guest, 'vm-100-disk-0@first'));
  await writeFile(join(guest, 'vm-100-disk-0@first/disk.raw'), '');
  return { root, guest, runner, ctx, driver: new BtrfsStorageDriver() };
}

test('parses `btrfs subvolume list -u -q`: ids, UUIDs, parent UUIDs, paths', async (t) => {
  const list = parseSubvolumeList(await fixture('subvolume-list.txt'));
  t.is(list.length, 3);
  t.like(list[0], { id: 256, parentUuid: undefined, path: 'store/images/100/vm-100-disk-0' });
  t.regex(list[0]!.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.is(list[1]!.path, 'store/images/100/vm-100-disk-0@s1');
  t.is(list[2]!.parentUuid, list[0]!.uuid, 'the clone names the volume it was taken of');
  t.throws(() => parseSubvolumeList('ID x gen 1\n'), { message: /unexpected line/ });
});

test('parses `btrfs qgroup show -re --raw`: referenced bytes and limits by path, level 0 only', async (t) => {
  const q = parseQgroupShow(await fixture('qgroup-show.txt'));
  t.deepEqual(q.get('store/images/100/subvol-100-disk-0.subvol'), { referencedBytes: 8372224, limitBytes: 8388608 });
  t.deepEqual(q.get('store/images/100/vm-100-disk-0'), { referencedBytes: 16384, limitBytes: 0 });
  t.false(q.has('<toplevel>'));
});

test('snapshots, rollback, clones, copies, free and send run the btrfs commands of BTRFSPlugin', async (t) => {
  const { guest, runner, ctx, driver } = await setup(t);
  const vol = join(guest, 'vm-100-disk-0');
  await driver.snapshotCreate(ctx, '100/vm-100-disk-0.raw', { snapshot: 'second' });
  t.deepEqual(runner.argvs.at(-1), ['btrfs', '-q', 'subvolume', 'snapshot', '-r', '--', vol, `${vol}@second`]);

  await driver.cloneLinked(ctx, '100/vm-100-disk-0.raw', { vmid: 101, name: 'vm-101-disk-0', snapshot: 'first' });
  t.deepEqual(runner.argvs.at(-1), ['btrfs', '-q', 'subvolume', 'snapshot', '--', `${vol}@first`, join(dirname(guest), '101/vm-101-disk-0')], 'a clone is a writable snapshot');

  const before = runner.calls.length;
  await driver.snapshotRollback(ctx, '100/vm-100-disk-0.raw', { snapshot: 'first' }).catch(() => undefined);
  const rollback = runner.argvs.slice(before);
  t.deepEqual(rollback[0]!.slice(0, 6), ['btrfs', '-q', 'subvolume', 'snapshot', '--', `${vol}@first`], 'rollback starts with a writable snapshot of the snapshot');
  t.regex(rollback[0]![6]!, /vm-100-disk-0\.tmp\.\d+\.[0-9a-f]{8}$/);

  const chunks: string[] = [];
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough().on('data', (c: Buffer) => chunks.push(c.toString()));
  await driver.exportVolume(ctx, '100/vm-100-disk-0.raw', { format: 'btrfs', stream: out, snapshot: 'first' });
  t.deepEqual(runner.argvs.at(-1), ['btrfs', '-q', 'send', '-e', '--', `${vol}@first`]);

  await driver.copyVolume(ctx, '100/vm-100-disk-0.raw', { vmid: 102, name: 'vm-102-disk-0', snapshot: 'first' });
  const copyDir = join(dirname(guest), '102/vm-102-disk-0');
  t.deepEqual(runner.argvs.slice(-2), [
    ['btrfs', '-q', 'subvolume', 'create', '--', copyDir],
    ['cp', '-a', '--reflink=auto', '--no-target-directory', '--', `${vol}@first/.`, copyDir],
  ], 'a copy within the storage is a new subvolume filled with reflinks');

  await driver.free(ctx, '100/vm-100-disk-0.raw');
  t.deepEqual(runner.argvs.at(-1), ['btrfs', '-q', 'subvolume', 'delete', '--', `${vol}@first`, vol], 'snapshots are deleted with the volume, first');
});

test('btrfs names import sources as dir does (core parseFileVolname); a disk inside an OVA keeps its archive', (t) => {
  t.like(parseBtrfsVolname('import/vm.ovf'), { kind: 'file', content: 'import', file: 'vm.ovf', format: 'ovf' });
  t.like(parseBtrfsVolname('import/vm.ova/disk.raw'), { kind: 'file', content: 'import', archive: 'vm.ova', format: 'ova+raw' });
  t.true(BTRFS_STORAGE_INFO.contentTypes.includes('import'));
});

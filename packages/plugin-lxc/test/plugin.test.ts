import test from 'ava';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Reverter, silentLogger, type GuestContext, type GuestNetworkAccess, type GuestStorageAccess, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir, RecordingCommandRunner } from '@corral/core/testing';
import { LxcHypervisorDriver, lxcPlugin } from '../src/index.js';
import { checkSubordinateIds } from '../src/host/subordinateIds.js';
import { DEFAULT_UNPRIVILEGED_IDMAP } from '../src/config/idmap.js';

test('lxcPlugin loads on its own and provides guest type lxc', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [lxcPlugin] });
  t.deepEqual([...kernel.plugins.loaded], ['lxc']);
  t.deepEqual(kernel.plugins.failed, []);
  t.is(lxcPlugin.id, 'lxc');
  t.deepEqual([...lxcPlugin.requires], []);
  // A config with a new volume on a storage that does not exist fails cleanly.
  await t.throwsAsync(kernel.guests.create('lxc', { rootfs: 'nosuch:1' }, { caller: ROOT_CALLER }), { code: 'CORRAL_ERR_NOT_FOUND' });
  t.deepEqual(await kernel.guests.list(), []);
});

test('driver volumes, requests and volume replacement', (t) => {
  const d = new LxcHypervisorDriver();
  const entries = { rootfs: 'local:4', mp0: 'tank:8,mp=/data,backup=1', mp1: '/srv/x,mp=/x', unused0: 'local:100/subvol-100-disk-9.subvol' };
  t.deepEqual(d.volumeRequests(entries), [
    { key: 'rootfs', storage: 'local', sizeBytes: 4 * 1024 ** 3, content: 'rootdir' },
    { key: 'mp0', storage: 'tank', sizeBytes: 8 * 1024 ** 3, content: 'rootdir' },
  ]);
  t.is(d.replaceVolume('mp0', entries.mp0, 'tank:subvol-100-disk-1', 8 * 1024 ** 3), 'tank:subvol-100-disk-1,mp=/data,backup=1,size=8G');
  const done = { ...entries, rootfs: 'local:100/subvol-100-disk-0.subvol,size=4G', mp0: 'tank:subvol-100-disk-1,mp=/data,size=8G' };
  t.deepEqual(d.volumes(done).map((v) => [v.key, v.volid]), [
    ['rootfs', 'local:100/subvol-100-disk-0.subvol'],
    ['mp0', 'tank:subvol-100-disk-1'],
    ['unused0', 'local:100/subvol-100-disk-9.subvol'],
  ]);
  t.deepEqual([...d.createParameters], ['ostemplate', 'password', 'ssh-public-keys', 'ignore-unpack-errors']);
  t.deepEqual([...d.info.consoles], ['console']);
});

test('the id-map check asks for root ranges only where newuidmap is installed', async (t) => {
  const dir = await makeTempDir(t, 'corral-lxc-subuid-');
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const subuid = join(dir, 'subuid');
  const subgid = join(dir, 'subgid');
  await writeFile(subuid, 'someone:100000:65536\n');
  await writeFile(subgid, 'root:100000:65536\n');
  // Without newuidmap on PATH, LXC writes the maps itself: nothing to check.
  t.notThrows(() => checkSubordinateIds(DEFAULT_UNPRIVILEGED_IDMAP, { subuid, subgid, path: bin }));
  for (const tool of ['newuidmap', 'newgidmap']) {
    await writeFile(join(bin, tool), '#!/bin/sh\n');
    await chmod(join(bin, tool), 0o755);
  }
  const err = t.throws(() => checkSubordinateIds(DEFAULT_UNPRIVILEGED_IDMAP, { subuid, subgid, path: bin }), { code: 'CORRAL_ERR_UNAVAILABLE' });
  t.regex(err!.message, /root:100000:65536/);
  await writeFile(subuid, 'root:100000:200000\n');
  t.notThrows(() => checkSubordinateIds(DEFAULT_UNPRIVILEGED_IDMAP, { subuid, subgid, path: bin }));
});

test('snapshots go to storage for rootfs and volume mount points; a running container is frozen around them', async (t) => {
  const calls: string[] = [];
  const runner = new RecordingCommandRunner([
    { match: { prefix: ['lxc-freeze'] } },
    { match: { prefix: ['lxc-unfreeze'] } },
    { match: ['sync'] },
  ]);
  const storage = {
    snapshotCreate: async (volid: string, name: string) => void calls.push(`create ${volid}@${name}`),
    snapshotDelete: async (volid: string, name: string) => void calls.push(`delete ${volid}@${name}`),
    snapshotRollback: async (volid: string, name: string) => void calls.push(`rollback ${volid}@${name}`),
  } as unknown as GuestStorageAccess;
  const network = {} as GuestNetworkAccess; // snapshots plug no NIC
  const ctx: GuestContext = { vmid: 100, node: 'n', runner, runDir: '/run/corral/lxc/100', log: silentLogger, storage, network };
  const entries = {
    rootfs: 'tank:subvol-100-disk-0,size=8G',
    mp0: 'tank:subvol-100-disk-1,mp=/data',
    mp1: '/srv/shared,mp=/shared',
    unused0: 'tank:subvol-100-disk-2',
  };
  const d = new LxcHypervisorDriver();
  const revert = new Reverter();
  t.deepEqual(await d.snapshotCreate(ctx, entries, { name: 's1', withState: false, running: true, revert }), {});
  t.deepEqual(calls, ['create tank:subvol-100-disk-0@s1', 'create tank:subvol-100-disk-1@s1']);
  t.deepEqual(runner.argvs.map((a) => a[0]), ['lxc-freeze', 'sync', 'lxc-unfreeze']);
  await revert.fail();
  t.deepEqual(calls.slice(2), ['delete tank:subvol-100-disk-1@s1', 'delete tank:subvol-100-disk-0@s1']);
  calls.length = 0;
  await d.snapshotRollback(ctx, entries, { name: 's1' });
  t.deepEqual(calls, ['rollback tank:subvol-100-disk-0@s1', 'rollback tank:subvol-100-disk-1@s1']);
  await t.throwsAsync(d.snapshotCreate(ctx, entries, { name: 's2', withState: true, running: true, revert: new Reverter() }), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
});

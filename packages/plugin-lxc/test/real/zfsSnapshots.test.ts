/**
 * Real containers on a real ZFS storage (zfs-fuse pool on a sparse file): snapshot of a
 * running container (frozen while the datasets are snapshotted), rollback, snapshot delete;
 * template (base dataset) and a linked clone (`zfs clone`) that runs and writes without the
 * template's dataset seeing it; destroy leaves nothing in the pool.
 */
import test, { type ExecutionContext } from 'ava';
import { chmod, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_CALLER } from '@corral/core';
import { hasProgram, makeTempDir, realTest, runToolOk } from '@corral/core/testing';
import { storageZfsPlugin } from '@corral/plugin-storage-zfs';
import { lxcAvailable, lxcEnv, lxcMissingReason, randomVmid, type LxcEnv } from '../support/lxcTestEnv.js';
import { loadZfsTestPool, type ZfsTestPool } from '../support/zfsTestPool.js';

const zfsTest = realTest(
  test,
  lxcAvailable && hasProgram('zfs') && hasProgram('zpool') && hasProgram('zfs-fuse'),
  `${lxcMissingReason}, or zfs-fuse (zfs, zpool) is not installed`,
);
const TEMPLATE = 'local:vztmpl/busybox.tar.gz';

/** An LXC test kernel with zfspool storage `tank` (content rootdir) on a fresh zfs-fuse pool, destroyed at teardown. */
async function zfsEnv(t: ExecutionContext): Promise<{ env: LxcEnv; pool: ZfsTestPool }> {
  const { createZfsTestPool } = await loadZfsTestPool();
  const parent = await makeTempDir(t, 'corral-lxc-zfs-');
  // Sparse: the 1 GiB rootfs quota only needs the space, the busybox tree uses a few MiB.
  const pool = await createZfsTestPool({ dir: parent, sizeBytes: 2 * 1024 ** 3 });
  // Registered before the kernel's teardown, so it runs after the containers are stopped (ava runs teardowns last-in first-out).
  t.teardown(() => pool.destroy());
  // An unprivileged container's root (uid 100000) must pass through every directory above its rootfs.
  await chmod(parent, 0o711);
  await chmod(pool.dir, 0o711);
  const env = await lxcEnv(t, { extraPlugins: [storageZfsPlugin] });
  await env.kernel.storage.add('tank', 'zfspool', { pool: pool.pool, content: 'rootdir' }, { caller: ROOT_CALLER });
  return { env, pool };
}

/** `zfs list -H -o name -r <pool>`, sorted. */
async function datasets(pool: string): Promise<string[]> {
  const r = await runToolOk(['zfs', 'list', '-H', '-o', 'name', '-t', 'all', '-r', pool], { timeoutMs: 30_000 });
  return r.stdout.trim().split('\n').filter((l) => l !== '').sort();
}

zfsTest.serial('a running container on ZFS: snapshot while running (freeze, thaw), rollback to it, delete the snapshot', async (t) => {
  const { env, pool } = await zfsEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'tank:1', unprivileged: 1, hostname: 'zfs-ct' }, { caller: ROOT_CALLER, vmid });
  const rootfs = (await kernel.guests.config(vmid)).config.rootfs!;
  t.regex(rootfs, new RegExp(`^tank:subvol-${vmid}-disk-0,size=1G$`));
  const dataset = `${pool.pool}/subvol-${vmid}-disk-0`;
  t.true((await datasets(pool.pool)).includes(dataset));

  await kernel.guests.start(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'running');
  const w = await kernel.guests.exec(vmid, ['sh', '-c', 'echo before > /root/f']);
  t.is(w.exitCode, 0, w.stderr);

  await kernel.guests.snapshot(vmid, 's1', { description: 'first' });
  // The driver freezes the container around the ZFS snapshot; it must be thawed again.
  const st = await kernel.guests.status(vmid);
  t.is(st.state, 'running', 'thawed after the snapshot');
  const cg = st.detail as { cgroups: Record<string, string> };
  t.is((await readFile(join(cg.cgroups.freezer!, 'freezer.state'), 'utf8')).trim(), 'THAWED');
  t.true((await datasets(pool.pool)).includes(`${dataset}@s1`));
  const snaps = await kernel.guests.listSnapshots(vmid);
  t.deepEqual(snaps.map((s) => s.name), ['s1']);
  t.is((await kernel.guests.config(vmid)).config.parent, 's1');
  const file = await kernel.config.read(`nodes/testnode/lxc/${vmid}.conf`);
  t.regex(file!.content, /^\[s1\]$/m);
  t.regex(file!.content, /^snaptime: \d+$/m);

  const c = await kernel.guests.exec(vmid, ['sh', '-c', 'echo after > /root/f; echo new > /root/g; sync']);
  t.is(c.exitCode, 0, c.stderr);
  t.is((await kernel.guests.exec(vmid, ['cat', '/root/f'])).stdout, 'after\n');

  // Rollback of a running container stops it first; here it is stopped explicitly, then started again.
  await kernel.guests.stop(vmid);
  await kernel.guests.rollback(vmid, 's1');
  t.false('lock' in (await kernel.guests.config(vmid)).config);
  await kernel.guests.start(vmid);
  t.is((await kernel.guests.exec(vmid, ['cat', '/root/f'])).stdout, 'before\n');
  t.not((await kernel.guests.exec(vmid, ['test', '-e', '/root/g'])).exitCode, 0, 'files made after the snapshot are gone');
  t.is((await kernel.guests.exec(vmid, ['hostname'])).stdout.trim(), 'zfs-ct');

  // Rollback with `start` on a running container: stopped, rolled back, running again.
  await kernel.guests.exec(vmid, ['sh', '-c', 'echo again > /root/f']);
  await kernel.guests.rollback(vmid, 's1', { start: true });
  t.is((await kernel.guests.status(vmid)).state, 'running');
  t.is((await kernel.guests.exec(vmid, ['cat', '/root/f'])).stdout, 'before\n');

  // Deleting the snapshot of a running container removes the ZFS snapshot and the section.
  await kernel.guests.deleteSnapshot(vmid, 's1');
  t.deepEqual(await kernel.guests.listSnapshots(vmid), []);
  t.false('parent' in (await kernel.guests.config(vmid)).config);
  t.false((await datasets(pool.pool)).includes(`${dataset}@s1`));
  t.notRegex((await kernel.config.read(`nodes/testnode/lxc/${vmid}.conf`))!.content, /^\[s1\]$/m);
  await t.throwsAsync(kernel.guests.rollback(vmid, 's1'), { code: 'CORRAL_ERR_NOT_FOUND' });

  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
  t.deepEqual(await datasets(pool.pool), [pool.pool], 'nothing left in the pool');
});

zfsTest.serial('template on ZFS and a linked clone: the clone runs and writes, the base does not see it; destroy frees all', async (t) => {
  const { env, pool } = await zfsEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  let newid = randomVmid();
  while (newid === vmid) newid = randomVmid();
  env.track(vmid);
  env.track(newid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'tank:1', unprivileged: 1, hostname: 'zfs-tpl' }, { caller: ROOT_CALLER, vmid });

  // A guest with snapshots cannot become a template.
  await kernel.guests.snapshot(vmid, 'pre');
  await t.throwsAsync(kernel.guests.template(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  await kernel.guests.deleteSnapshot(vmid, 'pre');

  await kernel.guests.template(vmid);
  const tplConfig = (await kernel.guests.config(vmid)).config;
  t.is(tplConfig.template, '1');
  const baseVolid = tplConfig.rootfs!.split(',')[0]!;
  t.is(baseVolid, `tank:basevol-${vmid}-disk-0`);
  t.true((await datasets(pool.pool)).includes(`${pool.pool}/basevol-${vmid}-disk-0@__base__`));
  await t.throwsAsync(kernel.guests.start(vmid));

  const r = await kernel.guests.clone(vmid, { newid, name: 'zfs-clone' });
  t.is(r.newid, newid);
  const cloneConfig = (await kernel.guests.config(newid)).config;
  t.false('template' in cloneConfig);
  t.is(cloneConfig.hostname, 'zfs-clone');
  const cloneVolid = cloneConfig.rootfs!.split(',')[0]!;
  t.is(cloneVolid, `tank:basevol-${vmid}-disk-0/subvol-${newid}-disk-0`);
  const origin = await runToolOk(['zfs', 'get', '-H', '-o', 'value', 'origin', `${pool.pool}/subvol-${newid}-disk-0`]);
  t.is(origin.stdout.trim(), `${pool.pool}/basevol-${vmid}-disk-0@__base__`, 'a ZFS clone of the base snapshot');

  await kernel.guests.start(newid);
  t.is((await kernel.guests.exec(newid, ['hostname'])).stdout.trim(), 'zfs-clone');
  const w = await kernel.guests.exec(newid, ['sh', '-c', 'echo in-clone > /root/clone-only; sync']);
  t.is(w.exitCode, 0, w.stderr);

  // From the host: the clone's dataset has the file, the template's base does not.
  const cloneAccess = (await kernel.storage.resolve(cloneVolid, { consumer: 'container' })) as { kind: string; path: string };
  const baseAccess = (await kernel.storage.resolve(baseVolid, { consumer: 'container' })) as { kind: string; path: string };
  t.is(cloneAccess.kind, 'directory');
  t.is(baseAccess.kind, 'directory');
  t.is(await readFile(join(cloneAccess.path, 'root', 'clone-only'), 'utf8'), 'in-clone\n');
  t.false(existsSync(join(baseAccess.path, 'root', 'clone-only')));
  t.true(existsSync(join(baseAccess.path, 'bin', 'busybox')));

  // Clone first (its dataset depends on the base snapshot), then the template.
  await kernel.guests.stop(newid);
  await kernel.guests.destroy(newid);
  await kernel.guests.destroy(vmid);
  t.deepEqual(await datasets(pool.pool), [pool.pool], 'nothing left in the pool');
});

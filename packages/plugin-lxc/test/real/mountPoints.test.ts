/**
 * Real mount points: a storage volume allocated with `storeid:SIZE` and a read-only bind
 * mount of a host directory, in an unprivileged container.
 */
import { ROOT_CALLER } from '@corral/core';
import test from 'ava';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, realTest } from '@corral/core/testing';
import { lxcAvailable, lxcEnv, lxcMissingReason, randomVmid } from '../support/lxcTestEnv.js';

const lxcTest = realTest(test, lxcAvailable, lxcMissingReason);

lxcTest.serial('a volume mount point and a read-only bind mount', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const shared = await makeTempDir(t, 'corral-lxc-bind-');
  await chmod(shared, 0o755);
  await writeFile(join(shared, 'hello.txt'), 'from the host\n');
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create(
    'lxc',
    { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:1', unprivileged: 1, mp0: 'local:1,mp=/data', mp1: `${shared},mp=/shared,ro=1` },
    { caller: ROOT_CALLER, vmid, start: true },
  );
  const config = (await kernel.guests.config(vmid)).config;
  t.regex(config.mp0!, /^local:\d+\/subvol-\d+-disk-1\.subvol,mp=\/data,size=1G$/);
  const vols = await kernel.storage.listVolumes('local', { vmid });
  t.is(vols.length, 2);

  const write = await kernel.guests.exec(vmid, ['sh', '-c', 'echo inside > /data/file && cat /shared/hello.txt']);
  t.is(write.exitCode, 0, write.stderr);
  t.is(write.stdout, 'from the host\n');
  const mp0 = (await kernel.storage.resolve(config.mp0!.split(',')[0]!, { consumer: 'container' })) as { path: string };
  t.is(await readFile(join(mp0.path, 'file'), 'utf8'), 'inside\n');
  t.is((await stat(join(mp0.path, 'file'))).uid, 100000);
  const ro = await kernel.guests.exec(vmid, ['touch', '/shared/nope']);
  t.not(ro.exitCode, 0);
  t.regex(ro.stderr, /Read-only file system|Permission denied/);

  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid }), []);
  t.is(await readFile(join(shared, 'hello.txt'), 'utf8'), 'from the host\n', 'a bind mount is never freed');
});

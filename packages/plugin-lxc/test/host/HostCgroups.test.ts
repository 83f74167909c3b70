import test from 'ava';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@corral/core/testing';
import { HostCgroups, payloadPath } from '../../src/host/HostCgroups.js';
import { checkSearchable } from '../../src/host/rootfsAccess.js';

// /proc/<init pid>/cgroup of a container started by LXC 5.0.2 on Linux 6.18 with cgroup v1
// (recorded on the development host; the name was taken, so LXC added `-1`).
const RECORDED_V1 = `9:name=systemd:/lxc.payload.ct1-1
8:pids:/lxc.payload.ct1-1
7:blkio:/lxc.payload.ct1-1
6:freezer:/lxc.payload.ct1-1
5:devices:/lxc.payload.ct1-1
4:memory:/lxc.payload.ct1-1
3:cpuset:/lxc.payload.ct1-1
2:cpuacct:/lxc.payload.ct1-1
1:cpu:/lxc.payload.ct1-1
0::/lxc.payload.ct1-1
`;

test('payloadPath cuts a path back to LXC payload directory', (t) => {
  t.is(payloadPath('/lxc.payload.100'), '/lxc.payload.100');
  t.is(payloadPath('/lxc.payload.100/init.scope'), '/lxc.payload.100');
  t.is(payloadPath('/lxc/100/ns/system.slice'), '/lxc/100/ns/system.slice');
});

test('HostCgroups on a v1 host: version, controllers of a container, reading and writing files', async (t) => {
  const dir = await makeTempDir(t, 'corral-lxc-cg-');
  const root = join(dir, 'cgroup');
  const proc = join(dir, 'proc');
  for (const c of ['memory', 'pids', 'cpu', 'cpuset', 'freezer']) await mkdir(join(root, c, 'lxc.payload.ct1-1'), { recursive: true });
  await writeFile(join(root, 'memory', 'memory.memsw.limit_in_bytes'), '9223372036854771712\n');
  await writeFile(join(root, 'cpuset', 'cpuset.cpus'), '0-1\n');
  await writeFile(join(root, 'memory', 'lxc.payload.ct1-1', 'memory.limit_in_bytes'), '67108864\n');
  await writeFile(join(root, 'pids', 'lxc.payload.ct1-1', 'pids.max'), 'max\n');
  await mkdir(join(proc, '4242'), { recursive: true });
  await writeFile(join(proc, '4242', 'cgroup'), RECORDED_V1);

  const cgroups = new HostCgroups({ root, proc });
  t.is(cgroups.version, 1);
  t.true(cgroups.hasRootFile('memory.memsw.limit_in_bytes'));
  t.is(cgroups.cpus, '0-1');
  const cg = await cgroups.containerCgroup(4242);
  t.truthy(cg);
  t.is(cg!.pathOf('memory.limit_in_bytes'), join(root, 'memory', 'lxc.payload.ct1-1', 'memory.limit_in_bytes'));
  t.is(cg!.pathOf('pids.max'), join(root, 'pids', 'lxc.payload.ct1-1', 'pids.max'));
  t.false(cg!.dirs.has('name=systemd'));
  t.is(await cg!.readNumber('memory.limit_in_bytes'), 67108864);
  t.is(await cg!.readNumber('pids.max'), undefined);
  await cg!.write('pids.max', '20');
  t.is(await cg!.read('pids.max'), '20');
  await t.throwsAsync(cg!.write('nosuch.file', '1'), { code: 'CORRAL_ERR_INVALID_STATE' });
  t.is(await cgroups.containerCgroup(4243), undefined);
});

test('HostCgroups on a v2 host uses the unified directory', async (t) => {
  const dir = await makeTempDir(t, 'corral-lxc-cg2-');
  const root = join(dir, 'cgroup');
  const proc = join(dir, 'proc');
  await mkdir(join(root, 'lxc.payload.100', 'init.scope'), { recursive: true });
  await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  await mkdir(join(proc, '7'), { recursive: true });
  await writeFile(join(proc, '7', 'cgroup'), '0::/lxc.payload.100/init.scope\n');
  const cgroups = new HostCgroups({ root, proc });
  t.is(cgroups.version, 2);
  const cg = await cgroups.containerCgroup(7);
  t.is(cg!.pathOf('memory.max'), join(root, 'lxc.payload.100', 'memory.max'));
});

test('checkSearchable names the directory an unprivileged root cannot pass', async (t) => {
  const dir = await makeTempDir(t, 'corral-lxc-search-');
  const rootfs = join(dir, 'a', 'b', 'rootfs');
  await mkdir(rootfs, { recursive: true });
  await chmod(join(dir, 'a'), 0o700);
  const err = await t.throwsAsync(checkSearchable(rootfs, { uid: 100000, gid: 100000 }), { code: 'CORRAL_ERR_UNAVAILABLE' });
  t.true(err!.message.includes(`'${join(dir, 'a')}'`), err!.message);
  await chmod(join(dir, 'a'), 0o711);
  await chmod(dir, 0o711);
  await t.notThrowsAsync(checkSearchable(rootfs, { uid: 100000, gid: 100000 }));
});

/**
 * What the driver runs, checked with a RecordingCommandRunner answering with output recorded
 * from the real gluster tools (`test/fixtures`, recorder `test/support/recordGlusterFixtures.ts`)
 * and a copied /proc/mounts: the probe of a local server (`gluster volume info`, which the real
 * tests cannot reach: their server is never `localhost`), the mount and umount argv, and the
 * QEMU URL per transport.
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, ROOT_CALLER, parseProcMounts } from '@corral/core';
import { createTestKernel, makeTempDir, RecordingCommandRunner, type ScriptedCommand } from '@corral/core/testing';
import { createStorageGlusterfsPlugin, GlusterfsMounter, glusterfsMountArgv, glusterVolumeInfoArgv, isGlusterfsMounted, volumeInfoSaysStarted } from '../src/index.js';
import { glusterFixture } from './support/glusterFixtures.js';

/** A recorded command as a script entry answering exactly its argv (with `volume`/`path` put in). */
function answer(name: string, replace: Record<string, string> = {}): ScriptedCommand {
  const f = glusterFixture(name);
  const sub = (s: string) => Object.entries(replace).reduce((acc, [from, to]) => acc.replaceAll(from, to), s);
  return { match: f.argv.map(sub), stdout: sub(f.stdout), stderr: sub(f.stderr), exitCode: f.exitCode };
}

/** A kernel whose runner answers `script(path)`; /proc/mounts shows the volume on `path` when `mounted`. */
async function kernelWith(t: Parameters<typeof createTestKernel>[0], script: (path: string) => ScriptedCommand[], mounted = false) {
  const dir = await makeTempDir(t, 'corral-gluster-argv-');
  const path = join(dir, 'mnt');
  const mountsFile = join(dir, 'mounts');
  const procMounts = glusterFixture('proc-mounts-glusterfs.txt').stdout.replaceAll('198.51.100.10:gv0', 'localhost:gv0').replaceAll('/srv/gluster/mnt', path);
  await writeFile(mountsFile, mounted ? procMounts : '');
  const runner = new RecordingCommandRunner(script(path));
  const kernel = await createTestKernel(t, { plugins: [createStorageGlusterfsPlugin({ mounter: new GlusterfsMounter(mountsFile) })], commandRunner: runner });
  return { kernel, runner, path, argvs: () => runner.calls.map((c) => [...c.argv]) };
}

const started = () => answer('gluster-volume-info-started.txt');

test('mount argv is mount -t glusterfs server:volume path, with the backup volfile server as -o', (t) => {
  const spec = { server: '10.0.0.7', volume: 'gv0', path: '/mnt/pve/gl' };
  t.deepEqual(glusterfsMountArgv(spec), ['mount', '-t', 'glusterfs', '10.0.0.7:gv0', '/mnt/pve/gl']);
  t.deepEqual(glusterfsMountArgv({ ...spec, server2: '10.0.0.8' }), ['mount', '-t', 'glusterfs', '10.0.0.7:gv0', '/mnt/pve/gl', '-o', 'backup-volfile-servers=10.0.0.8']);
  t.deepEqual(glusterVolumeInfoArgv('gv0'), glusterFixture('gluster-volume-info-started.txt').argv);
});

test('is-mounted wants a fuse.glusterfs entry of the volume from any server on exactly the path (recorded /proc/mounts)', (t) => {
  const mounts = parseProcMounts(glusterFixture('proc-mounts-glusterfs.txt').stdout);
  t.true(isGlusterfsMounted('gv0', '/srv/gluster/mnt', mounts));
  t.false(isGlusterfsMounted('gv1', '/srv/gluster/mnt', mounts), 'another volume');
  t.false(isGlusterfsMounted('gv0', '/srv/gluster', mounts), 'a parent of the mount point');
  t.true(isGlusterfsMounted('gv0', '/mnt/pve/gl', parseProcMounts('10.0.0.8:/gv0 /mnt/pve/gl fuse.glusterfs rw 0 0')), 'the backup server, source with a slash');
  t.false(isGlusterfsMounted('gv0', '/mnt/pve/gl', parseProcMounts('10.0.0.7:gv0 /mnt/pve/gl fuse.sshfs rw 0 0')), 'not glusterfs');
  t.false(isGlusterfsMounted('gv0', '/mnt/pve/gl', parseProcMounts('10.0.0.7:xgv0 /mnt/pve/gl fuse.glusterfs rw 0 0')), 'a volume name ending the same');
});

test('gluster volume info says started only for a started volume (recorded)', (t) => {
  t.true(volumeInfoSaysStarted(glusterFixture('gluster-volume-info-started.txt').stdout));
  t.false(volumeInfoSaysStarted(glusterFixture('gluster-volume-info-stopped.txt').stdout));
  t.false(volumeInfoSaysStarted(glusterFixture('gluster-volume-info-missing.txt').stdout));
});

test('activate of a localhost storage probes with gluster volume info, then mounts; deactivate of a mounted volume runs umount', async (t) => {
  const { kernel, path, argvs } = await kernelWith(t, (path) => [started(), answer('mount-glusterfs.txt', { '198.51.100.10:gv0': 'localhost:gv0', '/srv/gluster/mnt': path })]);
  await kernel.storage.add('gl', 'glusterfs', { volume: 'gv0', path, content: 'images', 'create-subdirs': '0' }, { caller: ROOT_CALLER });
  await kernel.storage.activate('gl');
  t.deepEqual(argvs(), [glusterVolumeInfoArgv('gv0'), ['mount', '-t', 'glusterfs', 'localhost:gv0', path]]);

  const mounted = await kernelWith(t, (path) => [answer('umount-glusterfs.txt', { '/srv/gluster/mnt': path })], true);
  await mounted.kernel.storage.add('gl', 'glusterfs', { volume: 'gv0', path: mounted.path }, { caller: ROOT_CALLER });
  await mounted.kernel.storage.deactivate('gl');
  t.deepEqual(mounted.argvs(), [['umount', mounted.path]]);
});

test('a stopped or missing volume on localhost is "not online" and nothing is mounted (recorded gluster volume info)', async (t) => {
  for (const fixture of ['gluster-volume-info-stopped.txt', 'gluster-volume-info-missing.txt']) {
    const { kernel, path, argvs } = await kernelWith(t, () => [answer(fixture, { gv1: 'gv0', missing: 'gv0' })]);
    await kernel.storage.add('gl', 'glusterfs', { volume: 'gv0', path }, { caller: ROOT_CALLER });
    const err = await t.throwsAsync(kernel.storage.activate('gl'), { code: ErrorCodes.unavailable }, fixture);
    t.regex(err!.message, /storage 'gl' is not online/);
    t.deepEqual(argvs(), [glusterVolumeInfoArgv('gv0')], `${fixture}: probed, not mounted`);
  }
});

test('a failing mount is UnavailableError carrying mount.glusterfs output (recorded)', async (t) => {
  const { kernel, path } = await kernelWith(t, (path) => [started(), answer('mount-glusterfs-missing-volume.txt', { '198.51.100.10:missing': 'localhost:gv0', '/srv/gluster/mnt': path })]);
  await kernel.storage.add('gl', 'glusterfs', { volume: 'gv0', path }, { caller: ROOT_CALLER });
  const err = await t.throwsAsync(kernel.storage.activate('gl'), { code: ErrorCodes.unavailable });
  t.regex(err!.message, /mount of localhost:gv0 on '.*' failed: .*Mounting glusterfs on .* failed\./);
});

test('QEMU gets gluster[+transport]://server/volume/images/<vmid>/<file>; other consumers and transport unix get the file', async (t) => {
  for (const [transport, url] of [
    [undefined, 'gluster://localhost/gv0/images/100/vm-100-disk-0.qcow2'],
    ['tcp', 'gluster+tcp://localhost/gv0/images/100/vm-100-disk-0.qcow2'],
    ['rdma', 'gluster+rdma://localhost/gv0/images/100/vm-100-disk-0.qcow2'],
    ['unix', undefined],
  ] as const) {
    const { kernel, path } = await kernelWith(t, () => [started()], true);
    await mkdir(join(path, 'images', '100'), { recursive: true });
    await writeFile(join(path, 'images', '100', 'vm-100-disk-0.qcow2'), '');
    await kernel.storage.add('gl', 'glusterfs', { volume: 'gv0', path, ...(transport ? { transport } : {}) }, { caller: ROOT_CALLER });
    const qemu = await kernel.storage.resolve('gl:100/vm-100-disk-0.qcow2', { consumer: 'qemu' });
    if (url === undefined) {
      t.deepEqual(qemu, { kind: 'file', path: join(path, 'images', '100', 'vm-100-disk-0.qcow2'), format: 'qcow2' });
      continue;
    }
    t.deepEqual(qemu, {
      kind: 'qemu',
      blockdev: { driver: 'gluster', volume: 'gv0', path: 'images/100/vm-100-disk-0.qcow2', server: [{ type: 'inet', host: 'localhost', port: '24007' }] },
      url,
      format: 'qcow2',
    });
    t.is((await kernel.storage.resolve('gl:100/vm-100-disk-0.qcow2', { consumer: 'host' })).kind, 'file');
  }
});

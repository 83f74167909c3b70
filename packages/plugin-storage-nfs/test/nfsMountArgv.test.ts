import test from 'ava';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, ROOT_CALLER, KernelShareMounter, isShareMounted, parseProcMounts } from '@corral/core';
import { createTestKernel, makeTempDir, RecordingCommandRunner } from '@corral/core/testing';
import {
  createStorageNfsPlugin,
  nfsShareMount,
  nfsMountArgv,
  nfsProbeArgv,
  nfsServerReachable,
  parseShowmountExports,
} from '../src/index.js';
import { nfsFixture } from './support/nfsFixtures.js';

// The kernel NFS client cannot work on this machine (HOST-FACTS): the mount and umount argv
// are checked with a RecordingCommandRunner, the mounted state with /proc/mounts text.

const spec = { server: '10.0.0.5', export: '/srv/pve', path: '/mnt/pve/nas' };

test('mount argv is mount -t nfs server:export path, with -o only when options are set', (t) => {
  t.deepEqual(nfsMountArgv(spec), ['mount', '-t', 'nfs', '10.0.0.5:/srv/pve', '/mnt/pve/nas']);
  t.deepEqual(nfsMountArgv({ ...spec, mountOptions: 'vers=4.2,soft' }), ['mount', '-t', 'nfs', '10.0.0.5:/srv/pve', '/mnt/pve/nas', '-o', 'vers=4.2,soft']);
  t.deepEqual(nfsMountArgv({ ...spec, server: 'fd00::5' }).slice(3, 4), ['[fd00::5]:/srv/pve'], 'an IPv6 server is bracketed');
});

test('is-mounted needs an nfs/nfs4 entry of server:export (trailing / allowed) on exactly the path', (t) => {
  const mounts = parseProcMounts(
    [
      '10.0.0.5:/srv/pve/ /mnt/pve/nas nfs4 rw,relatime,vers=4.2 0 0',
      '10.0.0.5:/srv/other /mnt/pve/other nfs rw 0 0',
      '/dev/vda / ext4 rw 0 0',
      '10.0.0.5:/srv/pve /mnt/pve/with\\040space nfs rw 0 0',
    ].join('\n')
  );
  t.true(isShareMounted(nfsShareMount(spec), mounts));
  t.false(isShareMounted(nfsShareMount({ ...spec, path: '/mnt/pve/other' }), mounts), 'another export on that path');
  t.false(isShareMounted(nfsShareMount({ ...spec, path: '/mnt/pve' }), mounts), 'a parent of the mount point');
  t.true(isShareMounted(nfsShareMount({ ...spec, path: '/mnt/pve/with space' }), mounts), 'octal escapes are decoded');
  t.false(isShareMounted(nfsShareMount(spec), parseProcMounts('10.0.0.5:/srv/pve /mnt/pve/nas fuse.sshfs rw 0 0')), 'not an nfs filesystem');
});

test('the connection probe is showmount, or rpcinfo for NFSv4 as pve does', (t) => {
  t.deepEqual(nfsProbeArgv('10.0.0.5', undefined), ['showmount', '--no-headers', '--exports', '10.0.0.5']);
  t.deepEqual(nfsProbeArgv('10.0.0.5', 'soft,vers=4.1'), ['rpcinfo', '-T', 'tcp', '10.0.0.5', 'nfs', '4']);
  t.deepEqual(nfsProbeArgv('fd00::5', 'vers=4'), ['rpcinfo', '-T', 'tcp6', 'fd00::5', 'nfs', '4']);
  t.deepEqual(nfsProbeArgv('10.0.0.5', 'vers=3'), ['showmount', '--no-headers', '--exports', '10.0.0.5']);
});

test('the probe answers reachable from recorded showmount/rpcinfo output and unreachable when the tool fails', async (t) => {
  const showmount = nfsFixture('showmount-exports.txt');
  const rpcinfo = nfsFixture('rpcinfo-nfs4.txt');
  t.deepEqual(
    parseShowmountExports(showmount.stdout).map((p) => p.replace(/^\/tmp\/[^/]+/, '<dir>')),
    ['<dir>/export', '<dir>/export2']
  );
  const ok = new RecordingCommandRunner([
    { match: nfsProbeArgv('10.0.0.5', undefined), ...showmount },
    { match: nfsProbeArgv('10.0.0.5', 'vers=4.2'), ...rpcinfo },
  ]);
  t.true(await nfsServerReachable(ok, '10.0.0.5', undefined));
  t.true(await nfsServerReachable(ok, '10.0.0.5', 'vers=4.2'));
  const down = new RecordingCommandRunner([
    {
      match: { prefix: ['showmount'] },
      ...nfsFixture('showmount-unreachable.txt'),
    },
  ]);
  t.false(await nfsServerReachable(down, '10.0.0.5', undefined));
});

async function kernelWith(t: Parameters<typeof createTestKernel>[0], procMounts: string, script: ConstructorParameters<typeof RecordingCommandRunner>[0]) {
  const dir = await makeTempDir(t, 'corral-nfs-argv-');
  const mountsFile = join(dir, 'mounts');
  await writeFile(mountsFile, procMounts);
  // The server answers the connection probe as the recorded ganesha did.
  const runner = new RecordingCommandRunner([...(script ?? []), { match: { prefix: ['showmount'] }, ...nfsFixture('showmount-exports.txt') }]);
  const kernel = await createTestKernel(t, {
    plugins: [createStorageNfsPlugin({ mounter: new KernelShareMounter(mountsFile) })],
    commandRunner: runner,
  });
  return { kernel, runner, dir, mountsFile };
}

test('activate mounts an unmounted export with the storage options, creating the mount point first; deactivate of an unmounted export runs nothing', async (t) => {
  const { kernel, runner, dir } = await kernelWith(t, '', [{ match: { prefix: ['mount'] } }]);
  const path = join(dir, 'mnt', 'nas');
  await kernel.storage.add(
    'nas',
    'nfs',
    {
      server: '10.0.0.5',
      export: '/srv/pve',
      path,
      options: 'vers=3,soft',
      content: 'images,iso',
      'create-subdirs': '0',
    },
    { caller: ROOT_CALLER }
  );
  runner.calls.length = 0;
  await kernel.storage.activate('nas');
  t.deepEqual(runner.argvs, [
    ['showmount', '--no-headers', '--exports', '10.0.0.5'],
    ['mount', '-t', 'nfs', '10.0.0.5:/srv/pve', path, '-o', 'vers=3,soft'],
  ]);
  t.true((await stat(path)).isDirectory(), 'the mount point was created before mounting');
  runner.calls.length = 0;
  await kernel.storage.deactivate('nas');
  t.deepEqual(runner.argvs, [], '/proc/mounts shows nothing mounted: no umount');
});

test('a mounted export is not mounted again; deactivate runs umount <path>; status reads the mount', async (t) => {
  const dir0 = await makeTempDir(t, 'corral-nfs-mp-');
  const path = join(dir0, 'nas');
  await mkdir(path);
  const { kernel, runner } = await kernelWith(t, `10.0.0.5:/srv/pve ${path} nfs4 rw,vers=4.2 0 0\n`, [{ match: ['umount', path] }]);
  await kernel.storage.add('nas', 'nfs', { server: '10.0.0.5', export: '/srv/pve', path, content: 'images,iso' }, { caller: ROOT_CALLER });
  await kernel.storage.activate('nas');
  t.false(
    runner.argvs.some((a) => a[0] === 'mount'),
    'no second mount'
  );
  t.true((await stat(join(path, 'template', 'iso'))).isDirectory(), 'content directories are created on the mount');
  const status = await kernel.storage.status('nas');
  t.true(status.active);
  t.true(status.totalBytes > 0);
  await kernel.storage.deactivate('nas');
  t.deepEqual(runner.argvs.at(-1), ['umount', path]);
});

test('a failed mount is UnavailableError naming the storage and the export, and status is inactive', async (t) => {
  // What mount.nfs answers on this kernel (recorded against ganesha, see fixtures/README.md).
  const recorded = nfsFixture('mount-nfs-v3-failure.txt');
  const { kernel, dir } = await kernelWith(t, '', [{ match: { prefix: ['mount'] }, ...recorded }]);
  const path = join(dir, 'nas');
  await kernel.storage.add('nas', 'nfs', { server: '10.0.0.5', export: '/srv/pve', path }, { caller: ROOT_CALLER });
  const err = await t.throwsAsync(kernel.storage.activate('nas'), {
    code: ErrorCodes.unavailable,
  });
  t.regex(err!.message, /storage 'nas'.*10\.0\.0\.5:\/srv\/pve/);
  t.regex(err!.message, /No such device/);
  t.false((await kernel.storage.status('nas')).active);
});

test('an unreachable server is UnavailableError "not online" and nothing is mounted', async (t) => {
  const { kernel, runner, dir } = await kernelWith(t, '', [{ match: { prefix: ['showmount'] }, ...nfsFixture('showmount-unreachable.txt') }]);
  const path = join(dir, 'nas');
  await kernel.storage.add('nas', 'nfs', { server: '10.0.0.5', export: '/srv/pve', path }, { caller: ROOT_CALLER });
  runner.calls.length = 0;
  const err = await t.throwsAsync(kernel.storage.activate('nas'), { code: ErrorCodes.unavailable });
  t.regex(err!.message, /storage 'nas' is not online/);
  t.deepEqual(runner.argvs, [['showmount', '--no-headers', '--exports', '10.0.0.5']], 'probed, not mounted');
});

test('bad nfs definitions are InvalidConfigError naming the option', async (t) => {
  const { kernel } = await kernelWith(t, '', []);
  const cases: Array<[Record<string, string>, string]> = [
    [{ export: '/srv/pve', path: '/mnt/pve/x' }, 'server'],
    [{ server: '10.0.0.5', path: '/mnt/pve/x' }, 'export'],
    [{ server: '10.0.0.5', export: 'srv/pve', path: '/mnt/pve/x' }, 'export'],
    [{ server: '10.0.0.5', export: '/srv/pve', path: 'mnt' }, 'path'],
    [
      {
        server: '10.0.0.5',
        export: '/srv/pve',
        path: '/mnt/pve/x',
        options: 'vers=4;rm -rf',
      },
      'options',
    ],
    [{ server: 'bad host!', export: '/srv/pve', path: '/mnt/pve/x' }, 'server'],
    [
      {
        server: '10.0.0.5',
        export: '/srv/pve',
        path: '/mnt/pve/x',
        'content-dirs': 'iso=../escape',
      },
      'content-dirs',
    ],
    [
      {
        server: '10.0.0.5',
        export: '/srv/pve',
        path: '/mnt/pve/x',
        format: 'vmdk',
      },
      'format',
    ],
  ];
  for (const [options, key] of cases) {
    const err = await t.throwsAsync(
      kernel.storage.add('bad', 'nfs', options, { caller: ROOT_CALLER }),
      { code: ErrorCodes.invalidConfig },
      JSON.stringify(options)
    );
    t.is((err as { key?: string }).key, key, JSON.stringify(options));
  }
});

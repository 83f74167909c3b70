/**
 * argv and output handling of the rbd driver with a recording runner: the connection
 * arguments of every call, the conf/keyring files, name handling, free/clone sequences, the
 * error mapping of recorded failures, and the krbd paths (`rbd map` cannot work on these
 * machines: the recorded failure, and the success shape derived from the Ceph source in
 * `test/fixtures/krbd/`).
 */
import test, { type ExecutionContext } from 'ava';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { createTestKernel, RecordingCommandRunner, type ScriptedCommand } from '@corral/core/testing';
import { storageCephPlugin } from '../src/index.js';
import { cephFixture } from './support/cephFixtures.js';

const KEY = 'AQBaN0VnAAAAABAAbfXE3kFxc7AFbWVFhyQeRg==';

/** Matches an `rbd`/`ceph` call by its operation (the argv after the connection arguments). */
function op(program: 'rbd' | 'ceph', ...args: string[]): (argv: readonly string[]) => boolean {
  return (argv) => argv[0] === program && argv.length > args.length && args.every((a, i) => argv[argv.length - args.length + i] === a);
}
const ok = (match: ScriptedCommand['match'], file?: string): ScriptedCommand => ({ match, stdout: file ? cephFixture(file) : '' });
const failed = (match: ScriptedCommand['match'], file: string, exitCode: number): ScriptedCommand => ({ match, stderr: cephFixture(file), exitCode });

async function setup(t: ExecutionContext, script: ScriptedCommand[], options: Record<string, string> = {}) {
  const runner = new RecordingCommandRunner(script);
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin], commandRunner: runner });
  await kernel.storage.add(
    'ceph',
    'rbd',
    { pool: 'rbd', monhost: '10.0.0.1 10.0.0.2:6789;[fd00::1]:3300', username: 'corral', keyring: KEY, ...options },
    { caller: ROOT_CALLER },
  );
  const runDir = join(kernel.dir, 'run', 'storage', 'ceph');
  return { kernel, runner, runDir };
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    if ((await readFile(p, 'utf8')).includes(needle)) out.push(p);
  }
  return out;
}

test('every rbd call carries -c <private conf> -m <monitors> --id --keyring --client_mount_timeout; the key stays out of argv and storage.cfg', async (t) => {
  const s = await setup(t, [ok(op('rbd', 'ls', '-l', '--format', 'json', 'rbd'), 'driver-ls-l.json')]);
  await s.kernel.storage.listVolumes('ceph');
  const conf = join(s.runDir, 'ceph.conf');
  const keyring = join(s.runDir, 'keyring');
  t.deepEqual(s.runner.argvs, [
    ['rbd', '-c', conf, '-m', '10.0.0.1,10.0.0.2:6789,[fd00::1]:3300', '--id', 'corral', '--keyring', keyring, '--client_mount_timeout', '10', 'ls', '-l', '--format', 'json', 'rbd'],
  ]);
  const confText = await readFile(conf, 'utf8');
  t.regex(confText, /\[global\]\nmon_host = 10\.0\.0\.1,10\.0\.0\.2:6789,\[fd00::1\]:3300\n/);
  t.true(confText.includes(`[client.corral]\nkeyring = ${keyring}\n`), confText);
  t.is(await readFile(keyring, 'utf8'), `[client.corral]\n\tkey = ${KEY}\n`, 'a bare key becomes a keyring');
  t.is((await stat(keyring)).mode & 0o777, 0o600);
  t.false(s.runner.argvs.flat().some((a) => a.includes(KEY)), 'the key is never in an argv');
  const holders = (await filesContaining(s.kernel.dir, KEY)).map((p) => p.slice(s.kernel.dir.length));
  t.deepEqual(holders.sort(), ['/data/priv/storage/ceph.json', '/run/storage/ceph/keyring'], 'only the private secrets file and the 0600 keyring hold the key');
  t.false('keyring' in (await s.kernel.storage.get('ceph')).options);
});

test('list: images and templates from rbd ls -l (recorded), a clone of base@__base__ is base-X/vm-Y', async (t) => {
  const s = await setup(t, [ok(op('rbd', 'ls', '-l', '--format', 'json', 'rbd'), 'driver-ls-l.json')]);
  const vols = await s.kernel.storage.listVolumes('ceph');
  t.deepEqual(
    vols.map((v) => [v.volid, v.sizeBytes, v.isBase, v.parent ?? null, v.vmid]),
    [
      ['ceph:base-101-disk-0', 1024 ** 3, true, null, 101],
      ['ceph:base-101-disk-0/vm-102-disk-0', 1024 ** 3, false, 'ceph:base-101-disk-0', 102],
      ['ceph:vm-100-disk-0', 8 * 1024 ** 3, false, null, 100],
    ],
  );
  t.deepEqual(await s.kernel.storage.listVolumes('ceph', { content: 'rootdir' }), [], 'rbd images are listed as images');
});

test('allocate in a namespace with a data pool: rbd create --image-format 2 --size <MiB> --data-pool X pool/ns/vm-...', async (t) => {
  const s = await setup(t, [ok(op('rbd', 'ls', '-l', '--format', 'json', 'rbd/ns1'), 'rbd-ls-l-empty.json'), ok((a) => a[0] === 'rbd' && a[11] === 'create')], { namespace: 'ns1', 'data-pool': 'ecdata' });
  t.is(await s.kernel.storage.allocate({ storage: 'ceph', vmid: 100, sizeBytes: 4 * 1024 * 1024 + 1 }), 'ceph:vm-100-disk-0');
  t.deepEqual(s.runner.argvs.at(-1)!.slice(-8), ['create', '--image-format', '2', '--size', '5', '--data-pool', 'ecdata', 'rbd/ns1/vm-100-disk-0']);
  await t.throwsAsync(s.kernel.storage.allocate({ storage: 'ceph', vmid: 100, sizeBytes: 1024, name: 'vm-101-disk-0' }), { code: ErrorCodes.invalidArgument }, 'a name of another guest');
});

test('free: unprotect, unmap, snap purge, rm; a template with clones is refused before anything changes', async (t) => {
  const s = await setup(t, [
    ok(op('rbd', 'snap', 'ls', '--format', 'json', 'rbd/vm-100-disk-0'), 'driver-snap-ls-vm-100-disk-0.json'),
    ok(op('rbd', 'children', '--format', 'json', 'rbd/vm-100-disk-0'), 'driver-children-none.json'),
    ok(op('rbd', 'showmapped', '--format', 'json'), 'driver-showmapped.json'),
    ok(op('rbd', 'snap', 'purge', 'rbd/vm-100-disk-0')),
    ok(op('rbd', 'rm', 'rbd/vm-100-disk-0')),
    ok(op('rbd', 'snap', 'ls', '--format', 'json', 'rbd/base-101-disk-0'), 'rbd-snap-ls-base-101-disk-0.json'),
    ok(op('rbd', 'children', '--format', 'json', 'rbd/base-101-disk-0'), 'driver-children-base-101-disk-0.json'),
  ]);
  await s.kernel.storage.free('ceph:vm-100-disk-0');
  t.deepEqual(
    s.runner.argvs.map((a) => a.slice(11).join(' ')),
    ['snap ls --format json rbd/vm-100-disk-0', 'children --format json rbd/vm-100-disk-0', 'showmapped --format json', 'snap purge rbd/vm-100-disk-0', 'rm rbd/vm-100-disk-0'],
  );
  s.runner.calls.length = 0;
  await t.throwsAsync(s.kernel.storage.free('ceph:base-101-disk-0'), { code: ErrorCodes.conflict, message: /linked clones: rbd\/vm-102-disk-0/ });
  t.deepEqual(s.runner.argvs.map((a) => a[11]), ['snap', 'children'], 'nothing was unprotected or removed');
});

test('template and linked clones: rename + __base__ protected; clone of a snapshot protects it first', async (t) => {
  const s = await setup(t, [
    ok(op('rbd', 'info', '--format', 'json', 'rbd/vm-100-disk-0'), 'rbd-info-vm-100-disk-0.json'),
    ok(op('rbd', 'rename', 'rbd/vm-100-disk-0', 'rbd/base-100-disk-0')),
    ok(op('rbd', 'showmapped', '--format', 'json'), 'driver-showmapped.json'),
    ok(op('rbd', 'snap', 'create', 'rbd/base-100-disk-0@__base__')),
    ok(op('rbd', 'snap', 'protect', 'rbd/base-100-disk-0@__base__')),
    ok(op('rbd', 'ls', '-l', '--format', 'json', 'rbd'), 'driver-ls-l.json'),
    ok(op('rbd', 'clone', 'rbd/base-101-disk-0@__base__', 'rbd/vm-103-disk-0')),
    ok(op('rbd', 'info', '--format', 'json', 'rbd/vm-100-disk-0@snap1'), 'rbd-info-vm-100-disk-0.json'),
    ok(op('rbd', 'snap', 'protect', 'rbd/vm-100-disk-0@snap1')),
    ok(op('rbd', 'clone', 'rbd/vm-100-disk-0@snap1', 'rbd/vm-104-disk-0')),
  ]);
  t.is(await s.kernel.storage.createBase('ceph:vm-100-disk-0'), 'ceph:base-100-disk-0');
  t.is(await s.kernel.storage.cloneLinked('ceph:base-101-disk-0', { vmid: 103 }), 'ceph:base-101-disk-0/vm-103-disk-0');
  t.false(s.runner.argvs.some((a) => a.join(' ').includes('rbd/base-101-disk-0@__base__') && a[11] !== 'clone'), "a template's __base__ (protected by createBase) is cloned directly, as Proxmox");
  t.is(await s.kernel.storage.cloneLinked('ceph:vm-100-disk-0', { vmid: 104, snapshot: 'snap1' }), 'ceph:vm-104-disk-0');
  const ops = s.runner.argvs.map((a) => a.slice(11).join(' '));
  t.true(ops.indexOf('snap protect rbd/vm-100-disk-0@snap1') < ops.indexOf('clone rbd/vm-100-disk-0@snap1 rbd/vm-104-disk-0'), 'protect before clone');
});

test('recorded failures become Corral errors: unreachable monitors, wrong key, missing pool/namespace/image, taken snapshot name, clones', async (t) => {
  const cases: Array<[string, number, string, (k: Awaited<ReturnType<typeof setup>>['kernel']) => Promise<unknown>, string, RegExp]> = [
    ['driver-ls-unreachable.txt', 110, 'ls', (k) => k.storage.listVolumes('ceph'), ErrorCodes.unavailable, /cannot reach the Ceph monitors \(monhost 10\.0\.0\.1,.*\) within 10 s/],
    ['driver-ls-wrong-key.txt', 13, 'ls', (k) => k.storage.listVolumes('ceph'), ErrorCodes.unavailable, /refused the client/],
    ['driver-ls-missing-pool.txt', 2, 'ls', (k) => k.storage.listVolumes('ceph'), ErrorCodes.unavailable, /rbd pool 'rbd' does not exist/],
    ['driver-ls-missing-namespace.txt', 2, 'ls', (k) => k.storage.listVolumes('ceph'), ErrorCodes.unavailable, /namespace/],
    ['driver-info-missing.txt', 2, 'info', (k) => k.storage.volumeInfo('ceph:vm-999-disk-0'), ErrorCodes.notFound, /volume 'ceph:vm-999-disk-0' does not exist/],
    ['driver-snap-create-exists.txt', 17, 'snap', (k) => k.storage.snapshotCreate('ceph:vm-100-disk-0', 'snap1'), ErrorCodes.alreadyExists, /snapshot 'ceph:vm-100-disk-0@snap1'/],
  ];
  for (const [file, code, first, call, errCode, message] of cases) {
    const s = await setup(t, [{ match: (a) => a[0] === 'rbd' && a[11] === first, stderr: cephFixture(file), exitCode: code }]);
    await t.throwsAsync(call(s.kernel) as Promise<unknown>, { code: errCode, message }, file);
  }
  const s = await setup(t, [
    ok(op('rbd', 'showmapped', '--format', 'json'), 'driver-showmapped.json'),
    ok(op('rbd', 'info', '--format', 'json', 'rbd/base-101-disk-0@__base__'), 'rbd-info-base-101-disk-0-snap-__base__.json'),
    failed(op('rbd', 'snap', 'unprotect', 'rbd/base-101-disk-0@__base__'), 'driver-snap-unprotect-children.txt', 16),
    { match: op('ceph', 'df', '--format', 'json'), stderr: cephFixture('driver-ceph-df-unreachable.txt'), exitCode: 1 },
  ]);
  // The driver refuses to delete __base__ through the facade's name check; call the driver's path directly.
  const err = await t.throwsAsync(
    (async () => {
      const { RbdStorageDriver } = await import('../src/index.js');
      const { toStorageDefinition, silentLogger } = await import('@corral/core');
      const d = new RbdStorageDriver();
      const def = toStorageDefinition('ceph', d.info, { pool: 'rbd', monhost: '10.0.0.1', username: 'corral' });
      await d.snapshotDelete({ storage: def, secrets: { keyring: KEY }, node: 'n', runner: s.runner, runDir: s.runDir, log: silentLogger }, 'base-101-disk-0', { snapshot: '__base__' });
    })(),
    { code: ErrorCodes.conflict },
  );
  t.regex(err?.message ?? '', /unprotecting snap failed: \(16\) Device or resource busy/);
  const status = await s.kernel.storage.status('ceph');
  t.false(status.active, 'an unreachable cluster is an inactive storage');
});

test('krbd: containers map the image (recorded failure here, success shape from the Ceph source), mapping is idempotent, deactivate unmaps', async (t) => {
  const info = ok(op('rbd', 'info', '--format', 'json', 'rbd/vm-100-disk-0'), 'rbd-info-vm-100-disk-0.json');
  const none = ok(op('rbd', 'showmapped', '--format', 'json'), 'driver-showmapped.json');
  const here = await setup(t, [info, none, failed(op('rbd', 'map', 'rbd/vm-100-disk-0'), 'driver-map-failure.txt', 2)]);
  await t.throwsAsync(here.kernel.storage.resolve('ceph:vm-100-disk-0', { consumer: 'container' }), { code: ErrorCodes.notSupported, message: /cannot map rbd images/ });

  const elsewhere = await setup(t, [info, { ...none, once: true }, ok(op('rbd', 'map', 'rbd/vm-100-disk-0'), 'krbd/map-success.txt'), ok(op('rbd', 'showmapped', '--format', 'json'), 'krbd/showmapped-one.json'), ok(op('rbd', 'unmap', '/dev/rbd0'))], { krbd: '1' });
  t.deepEqual(await elsewhere.kernel.storage.resolve('ceph:vm-100-disk-0', { consumer: 'qemu' }), { kind: 'block', path: '/dev/rbd0', format: 'raw' }, 'krbd=1: even QEMU gets the mapped device');
  t.deepEqual(await elsewhere.kernel.storage.resolve('ceph:vm-100-disk-0', { consumer: 'container' }), { kind: 'block', path: '/dev/rbd0', format: 'raw' });
  t.is(elsewhere.runner.argvs.filter((a) => a[11] === 'map').length, 1, 'mapped once: the second resolve finds the mapping');
  await elsewhere.kernel.storage.deactivateVolume('ceph:vm-100-disk-0');
  t.deepEqual(elsewhere.runner.argvs.at(-1)!.slice(11), ['unmap', '/dev/rbd0']);
});

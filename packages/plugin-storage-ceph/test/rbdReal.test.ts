import test from 'ava';
import { createServer } from 'node:net';
import { definePlugin, ErrorCodes, extensionPoints, NodeCommandRunner, PLUGIN_API_VERSION, ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, RecordingCommandRunner } from '@corral/core/testing';
import { RbdStorageDriver, storageCephPlugin } from '../src/index.js';
import { cephRealTest, externalRbdOptions, useCephTestCluster } from './support/cephTestFixture.js';
import { runToolOk } from '@corral/core/testing';

const cephTest = cephRealTest(test);
const ceph = useCephTestCluster(test);
const MiB = 1024 * 1024;

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The rbd plugin with a short connect timeout. */
function quickPlugin(connectTimeoutMs: number) {
  return definePlugin({
    id: 'storage-ceph',
    apiVersion: PLUGIN_API_VERSION,
    register: (env) => env.extend(extensionPoints.storageDrivers, 'rbd', new RbdStorageDriver({ connectTimeoutMs })),
  });
}

cephTest('monitors that do not answer: UnavailableError within the connect timeout, status inactive, no hang', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [quickPlugin(2000)] });
  const port = await closedPort();
  await kernel.storage.add('down', 'rbd', externalRbdOptions(ceph(), { monhost: `127.0.0.1:${port}` }), { caller: ROOT_CALLER });
  for (const [what, call] of [
    ['listVolumes', () => kernel.storage.listVolumes('down')],
    ['allocate', () => kernel.storage.allocate({ storage: 'down', vmid: 100, sizeBytes: MiB })],
    ['volumeInfo', () => kernel.storage.volumeInfo('down:vm-100-disk-0')],
  ] as const) {
    // The driver gives up on its own connect timeout (the error names it), not on a clock of this test.
    const err = await t.throwsAsync(call() as Promise<unknown>, { code: ErrorCodes.unavailable, message: new RegExp(`cannot reach the Ceph monitors \\(monhost 127\\.0\\.0\\.1:${port}\\) within 2 s`) }, what);
    t.log(`${what}: ${err?.message}`);
  }
  t.false((await kernel.storage.status('down')).active);
});

cephTest('bad definitions: InvalidConfigError naming the option (never echoing the keyring); a missing pool or a wrong key is UnavailableError', async (t) => {
  const f = ceph();
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin] });
  const bad: Array<[string, Record<string, string>, string]> = [
    ['unknown option', externalRbdOptions(f, { compression: 'on' }), 'compression'],
    ['bad monhost', externalRbdOptions(f, { monhost: '127.0.0.1:99999' }), 'monhost'],
    ['keyring without a key', externalRbdOptions(f, { keyring: '[client.corral]\n\tcaps mon = "allow r"\n' }), 'keyring'],
    ['unreadable conf', { pool: 'rbd', conf: '/nonexistent/ceph.conf' }, 'conf'],
    ['content rbd cannot hold', externalRbdOptions(f, { content: 'iso' }), 'content'],
    ['krbd not a boolean', externalRbdOptions(f, { krbd: 'maybe' }), 'krbd'],
  ];
  for (const [what, options, key] of bad) {
    const err = await t.throwsAsync(kernel.storage.add('bad', 'rbd', options, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig }, what);
    t.is((err as { key?: string } | undefined)?.key, key, what);
    t.false(JSON.stringify(err).includes(f.keyring.split('key = ')[1]!.trim()), `${what}: the key is not in the error`);
  }
  t.deepEqual(await kernel.storage.list(), [], 'nothing was stored');

  await kernel.storage.add('nopool', 'rbd', externalRbdOptions(f, { pool: 'nosuchpool' }), { caller: ROOT_CALLER });
  await t.throwsAsync(kernel.storage.listVolumes('nopool'), { code: ErrorCodes.unavailable, message: /rbd pool 'nosuchpool' does not exist/ });
  await t.throwsAsync(kernel.storage.allocate({ storage: 'nopool', vmid: 100, sizeBytes: MiB }), { code: ErrorCodes.unavailable });
  t.false((await kernel.storage.status('nopool')).active, 'a pool ceph df does not know is inactive');

  await kernel.storage.add('wrongkey', 'rbd', externalRbdOptions(f, { keyring: 'AQBaN0VnAAAAABAAbfXE3kFxc7AFbWVFhyQeRg==' }), { caller: ROOT_CALLER });
  await t.throwsAsync(kernel.storage.listVolumes('wrongkey'), { code: ErrorCodes.unavailable, message: /refused the client/ });
  await t.throwsAsync(kernel.storage.listVolumes('nosuch'), { code: ErrorCodes.notFound });
});

cephTest('QEMU opens what resolve answers: the rbd: filename and the -blockdev JSON, with a keyring secret and with a conf', async (t) => {
  if (!hasProgram('qemu-img')) return t.fail('qemu-img is missing (Debian package qemu-utils + qemu-block-extra)');
  const f = ceph();
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin] });
  await kernel.storage.add('ext', 'rbd', externalRbdOptions(f), { caller: ROOT_CALLER });
  await kernel.storage.add('local', 'rbd', { pool: f.cluster.pool, conf: f.cluster.confPath, username: f.cluster.clientId }, { caller: ROOT_CALLER });
  const volid = await kernel.storage.allocate({ storage: 'ext', vmid: 900, sizeBytes: 24 * MiB });
  t.teardown(() => kernel.storage.free(volid).catch(() => undefined));
  for (const sid of ['ext', 'local']) {
    const a = await kernel.storage.resolve(`${sid}:vm-900-disk-0`, { consumer: 'qemu' });
    if (a.kind !== 'qemu') return t.fail(`expected qemu access, got ${a.kind}`);
    const byUrl = JSON.parse((await runToolOk(['qemu-img', 'info', '--output', 'json', a.url], { timeoutMs: 60_000 })).stdout) as { 'virtual-size': number };
    t.is(byUrl['virtual-size'], 24 * MiB, `${sid}: qemu-img opens ${a.url}`);
    const spec = `json:${JSON.stringify({ driver: 'raw', file: a.blockdev })}`;
    const byBlockdev = JSON.parse((await runToolOk(['qemu-img', 'info', '--output', 'json', spec], { timeoutMs: 60_000 })).stdout) as { 'virtual-size': number };
    t.is(byBlockdev['virtual-size'], 24 * MiB, `${sid}: QEMU accepts the blockdev ${JSON.stringify(a.blockdev)}`);
  }
});

cephTest('templates with clones and snapshots with clones cannot be removed; everything else is left intact', async (t) => {
  const f = ceph();
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin] });
  await kernel.storage.add('ext', 'rbd', externalRbdOptions(f), { caller: ROOT_CALLER });
  const vol = await kernel.storage.allocate({ storage: 'ext', vmid: 910, sizeBytes: 8 * MiB });
  const base = await kernel.storage.createBase(vol);
  t.is(base, 'ext:base-910-disk-0');
  t.deepEqual(await kernel.storage.snapshotList(base), [], '__base__ is internal');
  const clone = await kernel.storage.cloneLinked(base, { vmid: 911 });
  t.is(clone, 'ext:base-910-disk-0/vm-911-disk-0');
  await t.throwsAsync(kernel.storage.free(base), { code: ErrorCodes.conflict, message: /linked clones: rbd\/vm-911-disk-0/ });
  const snaps = JSON.parse((await runToolOk(['rbd', ...f.cluster.clientArgs, 'snap', 'ls', '--format', 'json', 'rbd/base-910-disk-0'])).stdout) as Array<{ name: string; protected: string }>;
  t.deepEqual(snaps.map((s) => [s.name, s.protected]), [['__base__', 'true']], '__base__ is still there and protected');

  await kernel.storage.snapshotCreate(clone, 'snap1');
  const fromSnap = await kernel.storage.cloneLinked(clone, { vmid: 912, snapshot: 'snap1' });
  t.is(fromSnap, 'ext:vm-912-disk-0');
  t.is((await kernel.storage.volumeInfo(fromSnap)).parent, undefined, 'a snapshot clone has no template parent');
  await t.throwsAsync(kernel.storage.snapshotDelete(clone, 'snap1'), { code: ErrorCodes.conflict });
  await t.throwsAsync(kernel.storage.free(clone), { code: ErrorCodes.conflict });
  for (const v of [fromSnap, clone, base]) await kernel.storage.free(v);
  for (const vmid of [910, 911, 912]) t.deepEqual(await kernel.storage.listVolumes('ext', { vmid }), []);
});

cephTest('krbd cannot map on this kernel: a container resolve is NotSupportedError naming the reason', async (t) => {
  const f = ceph();
  // Real commands, recorded on the way (the fallback runs everything).
  const runner = new RecordingCommandRunner([], new NodeCommandRunner());
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin], commandRunner: runner });
  await kernel.storage.add('ext', 'rbd', externalRbdOptions(f, { krbd: '1' }), { caller: ROOT_CALLER });
  const volid = await kernel.storage.allocate({ storage: 'ext', vmid: 920, sizeBytes: 4 * MiB });
  t.teardown(() => kernel.storage.free(volid).catch(() => undefined));
  const err = await t.throwsAsync(kernel.storage.resolve(volid, { consumer: 'container' }), { code: ErrorCodes.notSupported });
  t.log(err?.message);
  t.true(runner.argvs.some((a) => a.includes('map') && a.at(-1) === 'rbd/vm-920-disk-0'), 'rbd map was tried');
});

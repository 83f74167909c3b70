// QmpClient against a real QEMU (TCG, no guest: -S keeps the machine in prelaunch).
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ProtocolError } from '@corral/core';
import { makeTempDir, realTest } from '@corral/core/testing';
import { connectWithRetry, type QmpErrorData } from '../../src/qmp/index.js';
import { QemuProcess, qemuAvailable } from '../support/QemuProcess.js';

const execFileAsync = promisify(execFile);
const qemuTest = realTest(test, qemuAvailable(), 'qemu-system-x86_64 is not installed (package qemu-system-x86)');

const BASE_ARGS = ['-accel', 'tcg', '-machine', 'pc', '-m', '128', '-nodefaults', '-display', 'none', '-S'];

qemuTest('talks to a real QEMU: status, version, an error, events and quit', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-qemu-');
  const qmpPath = join(dir, 'qmp.sock');
  const qemu = QemuProcess.spawn(t, [...BASE_ARGS, '-qmp', `unix:${qmpPath},server=on,wait=off`]);
  const client = await connectWithRetry(qmpPath, { timeoutMs: 10_000, shouldRetry: () => qemu.running });
  t.teardown(() => client.close());
  t.log(`QMP ready ${Date.now() - qemu.startedAt} ms after spawn`);

  const status = await client.execute('query-status');
  t.is(status.status, 'prelaunch');
  t.false(status.running);
  const version = await client.execute('query-version');
  t.deepEqual(version, client.greeting.QMP.version);
  t.true(version.qemu.major >= 7);

  const error = await t.throwsAsync(client.execute('device_del', { id: 'nope' }), { instanceOf: ProtocolError });
  t.is((error.data as QmpErrorData).class, 'DeviceNotFound');

  const stopped = client.waitForEvent('STOP', { timeoutMs: 5000 });
  const resumed = client.waitForEvent('RESUME', { timeoutMs: 5000 });
  await client.execute('cont');
  await resumed;
  await client.execute('stop');
  await stopped;
  t.is((await client.execute('query-status')).status, 'paused');

  const shutdown = client.waitForEvent('SHUTDOWN', { timeoutMs: 5000 });
  await client.execute('quit');
  t.deepEqual((await shutdown).data, { guest: false, reason: 'host-qmp-quit' });
  const closeError = await client.waitForClose({ timeoutMs: 5000 });
  t.true(closeError instanceof ProtocolError, 'QEMU closed the socket');
  const exit = await qemu.waitExit({ timeoutMs: 10_000 });
  t.deepEqual(exit, { code: 0, signal: null });
});

qemuTest('runs real jobs: blockdev-create, snapshot-save, snapshot-load, and a failing one', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-qemu-');
  const qmpPath = join(dir, 'qmp.sock');
  const image = join(dir, 'disk0.qcow2');
  await writeFile(image, '');
  const qemu = QemuProcess.spawn(t, [...BASE_ARGS, '-qmp', `unix:${qmpPath},server=on,wait=off`]);
  const client = await connectWithRetry(qmpPath, { timeoutMs: 10_000, shouldRetry: () => qemu.running });
  t.teardown(() => client.close());

  await client.execute('blockdev-add', { driver: 'file', filename: image, 'node-name': 'file0' });
  const created = await client.runJob(
    'blockdev-create',
    { 'job-id': 'create0', options: { driver: 'qcow2', file: 'file0', size: 64 * 1024 * 1024 } },
    { timeoutMs: 30_000 },
  );
  t.is(created.type, 'create');
  t.is(created.status, 'concluded');
  await client.execute('blockdev-add', { driver: 'qcow2', file: 'file0', 'node-name': 'disk0' });

  const saved = await client.runJob('snapshot-save', { 'job-id': 'save0', tag: 'snap1', vmstate: 'disk0', devices: ['disk0'] }, { timeoutMs: 60_000 });
  t.is(saved.type, 'snapshot-save');
  t.deepEqual(await client.execute('query-jobs'), [], 'concluded jobs were dismissed');
  await client.runJob('snapshot-load', { 'job-id': 'load0', tag: 'snap1', vmstate: 'disk0', devices: ['disk0'] }, { timeoutMs: 60_000 });

  const failed = await t.throwsAsync(
    client.runJob('snapshot-save', { 'job-id': 'save1', tag: 'snap2', vmstate: 'nosuch', devices: ['disk0'] }, { timeoutMs: 30_000 }),
    { instanceOf: ProtocolError },
  );
  t.regex(failed.message, /vmstate block device 'nosuch' does not exist/);
  t.deepEqual(await client.execute('query-jobs'), [], 'the failed job was dismissed too');

  await client.execute('quit');
  await qemu.waitExit({ timeoutMs: 10_000 });
  const { stdout } = await execFileAsync('qemu-img', ['snapshot', '-l', image]);
  t.regex(stdout, /\bsnap1\b/);
  t.notRegex(stdout, /\bsnap2\b/);
});

qemuTest('snapshot-delete as a job, and deviceDel of an unknown device', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-qemu-');
  const qmpPath = join(dir, 'qmp.sock');
  const image = join(dir, 'disk0.qcow2');
  await execFileAsync('qemu-img', ['create', '-f', 'qcow2', image, '16M']);
  await execFileAsync('qemu-img', ['snapshot', '-c', 'old', image]);
  const qemu = QemuProcess.spawn(t, [
    ...BASE_ARGS,
    '-qmp', `unix:${qmpPath},server=on,wait=off`,
    '-blockdev', `driver=file,filename=${image},node-name=file0`,
    '-blockdev', 'driver=qcow2,file=file0,node-name=disk0',
  ]);
  const client = await connectWithRetry(qmpPath, { timeoutMs: 10_000, shouldRetry: () => qemu.running });
  t.teardown(() => client.close());
  await client.runJob('snapshot-delete', { 'job-id': 'del0', tag: 'old', devices: ['disk0'] }, { timeoutMs: 30_000 });
  const error = await t.throwsAsync(client.deviceDel('ghost', { timeoutMs: 5000 }), { instanceOf: ProtocolError });
  t.is((error.data as QmpErrorData).class, 'DeviceNotFound');
  await client.execute('quit');
  await qemu.waitExit({ timeoutMs: 10_000 });
  const { stdout } = await execFileAsync('qemu-img', ['snapshot', '-l', image]);
  t.notRegex(stdout, /\bold\b/);
});

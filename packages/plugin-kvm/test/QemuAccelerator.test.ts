/**
 * The accelerator choice through the kernel, with real QEMU (VMs start paused with
 * `freeze: 1`, no guest boots): the start task logs the accelerator and why, `status` reports
 * it, the probe caches in the plugin's run directory (only when /dev/kvm opens), a forced mode
 * runs no probe, and a bad `CORRAL_QEMU_ACCEL` fails the start before QEMU runs.
 */
import { constants, existsSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { InvalidArgumentError } from '@corral/core';
import { createTestKernel, hasProgram, realTest } from '@corral/core/testing';
import { createKvmPlugin } from '../src/plugin.js';
import { ACCELERATOR_ENV } from '../src/runtime/acceleratorMode.js';
import { KVM_PROBE_CACHE_FILE } from '../src/runtime/KvmProbe.js';

const qemuTest = realTest(test, hasProgram('qemu-system-x86_64'), 'qemu-system-x86_64 is not installed (package qemu-system-x86)');

async function kvmDeviceOpens(): Promise<boolean> {
  return access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
}

/** Runs `fn` with CORRAL_QEMU_ACCEL set to `value` (unset for undefined), restoring it after. */
async function withAccelEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env[ACCELERATOR_ENV];
  if (value === undefined) delete process.env[ACCELERATOR_ENV];
  else process.env[ACCELERATOR_ENV] = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[ACCELERATOR_ENV];
    else process.env[ACCELERATOR_ENV] = before;
  }
}

async function startLog(kernel: Awaited<ReturnType<typeof createTestKernel>>, upid: string): Promise<string> {
  return (await kernel.tasks.readLog(upid)).lines.map((l) => l.t).join('\n');
}

qemuTest.serial('auto: the start logs the accelerator and why, status reports it, the probe caches in <runDir>/kvm', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [createKvmPlugin()] });
  const { vmid } = await kernel.guests.create('qemu', { memory: 64, freeze: 1, serial0: 'socket' }, { vmid: 100 });
  const { upid } = await withAccelEnv(undefined, () => kernel.guests.start(vmid));
  try {
    const log = await startLog(kernel, upid);
    const detail = (await kernel.guests.status(vmid)).detail as { accel: string; accelReason: string; serialLogs: Record<string, string> };
    t.log(`accelerator: ${detail.accel} (${detail.accelReason})`);
    t.true(log.includes(`accelerator: ${detail.accel} (${detail.accelReason})`), log);
    const cacheFile = join(kernel.dir, 'run', 'kvm', KVM_PROBE_CACHE_FILE);
    if (await kvmDeviceOpens()) {
      t.regex(detail.accelReason, /^KVM probe (passed \(ran in \d+ ms\)|failed( \(provisional, [^)]*\))?: )/, 'a fresh probe (a new run directory)');
      const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as { results: { kvm64: { usable: boolean } } };
      t.is(cached.results.kvm64.usable, detail.accel === 'kvm', 'the cache says what the start did');
    } else {
      t.is(detail.accel, 'tcg');
      t.regex(detail.accelReason, /\/dev\/kvm does not exist/);
      t.false(existsSync(cacheFile), 'no probe ran');
    }
    if (detail.accel === 'tcg') t.regex(log, /running under TCG emulation/, 'the fallback is a warning in the task log');
    t.is(detail.serialLogs.serial0, join(kernel.dir, 'run', 'qemu', '100', 'serial0.log'));
  } finally {
    await kernel.guests.stop(vmid);
  }
});

qemuTest.serial('forced by CORRAL_QEMU_ACCEL=tcg over the plugin option kvm: TCG without a probe and without a fallback warning', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [createKvmPlugin({ accelerator: 'kvm' })] });
  const { vmid } = await kernel.guests.create('qemu', { memory: 64, freeze: 1 }, { vmid: 100 });
  const { upid } = await withAccelEnv('tcg', () => kernel.guests.start(vmid));
  try {
    const log = await startLog(kernel, upid);
    t.true(log.includes('accelerator: tcg (TCG forced by CORRAL_QEMU_ACCEL=tcg)'), log);
    t.notRegex(log, /running under TCG emulation/);
    t.like((await kernel.guests.status(vmid)).detail, { accel: 'tcg', accelReason: 'TCG forced by CORRAL_QEMU_ACCEL=tcg' });
    t.false(existsSync(join(kernel.dir, 'run', 'kvm', KVM_PROBE_CACHE_FILE)), 'no probe ran');
  } finally {
    await kernel.guests.stop(vmid);
  }
});

test.serial('a bad CORRAL_QEMU_ACCEL fails the start with a coded error naming it, before QEMU runs', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [createKvmPlugin()] });
  const { vmid } = await kernel.guests.create('qemu', { memory: 64, freeze: 1 }, { vmid: 100 });
  const err = await withAccelEnv('fast', () => t.throwsAsync(kernel.guests.start(vmid), { instanceOf: InvalidArgumentError }));
  t.is(err?.argument, 'CORRAL_QEMU_ACCEL');
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  t.false(existsSync(join(kernel.dir, 'run', 'qemu', '100', 'qemu.pid')));
});

/**
 * VMs outlive the process that started them, and a new kernel (another process, or a
 * restarted one) finds them again through the run directory (pid file + QMP sockets).
 */
import { ROOT_CALLER } from '@corral/core';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { realTest } from '@corral/core/testing';
import { testGuestUnavailableReason } from './support/testGuestImage.js';
import { connectSerial, kvmTestKernel, testGuestConfig } from './support-kvm/kvmTestKernel.js';

const reason = testGuestUnavailableReason();
const qemuTest = realTest(test, reason === undefined, reason ?? '');
const CHILD = fileURLToPath(new URL('./fixtures/startInChildProcess.js', import.meta.url));

qemuTest.serial('a VM started from another process keeps running after it exits; a new kernel re-attaches, uses it and stops it', async (t) => {
  const env = await kvmTestKernel(t);
  const { kernel } = env;
  const { vmid } = await kernel.guests.create('qemu', testGuestConfig(env, { freeze: 0 }), { caller: ROOT_CALLER, vmid: 150 });

  const { stdout } = await promisify(execFile)(process.execPath, [CHILD, kernel.dir, String(vmid), env.cgroupParent], { timeout: 120_000 });
  const child = JSON.parse(stdout.trim().split('\n').at(-1)!) as { pid: number; state: string; self: number };
  t.is(child.state, 'running');
  // the starting process is gone; QEMU was daemonized (its parent is not that process)
  await t.throwsAsync(readFile(`/proc/${child.self}/stat`, 'utf8').then((s) => (/\) [ZX] /.test(s) ? Promise.reject(new Error('zombie')) : s)));
  const ppid = Number((await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[1]);
  t.not(ppid, child.self);

  // this kernel (created before the VM started) and a freshly opened one both see it
  const st1 = await kernel.guests.status(vmid);
  t.is(st1.state, 'running');
  t.is(st1.pid, child.pid);
  const k2 = await env.reopen();
  const st2 = await k2.guests.status(vmid);
  t.is(st2.pid, child.pid);
  t.true((st2.uptimeSec ?? -1) >= 0);
  t.true((st2.memoryBytes ?? 0) > 10 * 1024 * 1024);
  t.is(st2.maxMemoryBytes, 256 * 1024 * 1024);

  // and can use it: console, agent, stop
  const serial = await connectSerial(t, k2, vmid);
  await serial.waitForLine(/^CORRAL-GUEST-READY /, { timeoutMs: 60_000 }).catch(() => undefined);
  const exec = await k2.guests.exec(vmid, ['/bin/cat', '/proc/sys/kernel/hostname']);
  t.is(exec.stdout.trim(), 'corral-test-guest');
  await k2.guests.stop(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  await t.throwsAsync(readFile(`/sys/fs/cgroup/cpu/${env.cgroupParent}/150.scope/cpu.shares`), { code: 'ENOENT' });
  await kernel.guests.destroy(vmid);
});

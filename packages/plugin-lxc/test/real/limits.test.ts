/**
 * Real cgroup limits on real containers: memory (an allocation loop inside is OOM-killed),
 * pids (a bounded fork loop hits pids.max), live changes through `update`, read back from the
 * cgroup files.
 */
import { ROOT_CALLER } from '@corral/core';
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { realTest } from '@corral/core/testing';
import { lxcAvailable, lxcEnv, lxcMissingReason, randomVmid } from '../support/lxcTestEnv.js';

const lxcTest = realTest(test, lxcAvailable, lxcMissingReason);
const MIB = 1024 * 1024;

async function cgroupFile(dir: string, file: string): Promise<string> {
  return (await readFile(join(dir, file), 'utf8')).trim();
}

lxcTest.serial('limits are enforced and change live: memory hog OOM-killed, fork loop stopped by pids.max', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create(
    'lxc',
    { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:1', hostname: 'limits', memory: 64, swap: 0, cpulimit: 0.5, 'lxc.cgroup.pids.max': 20 },
    { caller: ROOT_CALLER, vmid, start: true },
  );
  const st = await kernel.guests.status(vmid);
  t.is(st.state, 'running');
  const cg = (st.detail as { cgroups: Record<string, string> }).cgroups;
  t.regex(cg.memory!, /\/lxc\.payload\./);
  t.is(await cgroupFile(cg.memory!, 'memory.limit_in_bytes'), String(64 * MIB));
  t.is(await cgroupFile(cg.memory!, 'memory.memsw.limit_in_bytes'), String(64 * MIB));
  t.is(await cgroupFile(cg.cpu!, 'cpu.cfs_quota_us'), '50000');
  t.is(await cgroupFile(cg.pids!, 'pids.max'), '20');

  // A shell doubling a string until the limit: the kernel's OOM killer ends it (SIGKILL: 128+9).
  const hog = await kernel.guests.exec(vmid, ['sh', '-c', 'x=0123456789abcdef; while true; do x="$x$x"; done'], { timeoutMs: 60_000 });
  t.is(hog.exitCode, 137);
  // The cgroup reached its limit and the OOM killer acted (memory.failcnt stays 0 on this kernel when memsw = memory).
  t.is(await cgroupFile(cg.memory!, 'memory.max_usage_in_bytes'), String(64 * MIB));
  t.regex(await cgroupFile(cg.memory!, 'memory.oom_control'), /oom_kill [1-9]/);
  t.is((await kernel.guests.status(vmid)).state, 'running', 'the container survives its OOM kill');

  // A bounded loop of 40 background sleeps cannot pass pids.max = 20.
  const forks = await kernel.guests.exec(vmid, ['sh', '-c', 'i=0; while [ $i -lt 40 ]; do sleep 3 & i=$((i+1)); done; echo started $i']);
  t.not(forks.exitCode, 0);
  t.regex(forks.stderr, /can't fork|Resource temporarily unavailable/);
  t.regex(await cgroupFile(cg.pids!, 'pids.events'), /max [1-9]/);

  // Live changes: memory, swap, cpulimit, cores and the raw pids limit apply at once; hostname waits.
  const r = await kernel.guests.update(
    vmid,
    { set: { memory: 256, swap: 128, cpulimit: 1.5, 'lxc.cgroup.pids.max': 50, cores: 1, hostname: 'renamed' } },
    { caller: ROOT_CALLER },
  );
  t.deepEqual([...r.applied].sort(), ['cores', 'cpulimit', 'lxc.cgroup.pids.max', 'memory', 'swap']);
  t.deepEqual([...r.pending], ['hostname']);
  t.is(await cgroupFile(cg.memory!, 'memory.limit_in_bytes'), String(256 * MIB));
  t.is(await cgroupFile(cg.memory!, 'memory.memsw.limit_in_bytes'), String(384 * MIB));
  t.is(await cgroupFile(cg.cpu!, 'cpu.cfs_quota_us'), '150000');
  t.is(await cgroupFile(cg.cpuset!, 'cpuset.cpus'), '0');
  t.is(await cgroupFile(cg.pids!, 'pids.max'), '50');
  const detail = (await kernel.guests.status(vmid)).detail as { cgroup: Record<string, unknown> };
  t.like(detail.cgroup, { memoryLimitBytes: 256 * MIB, memorySwapLimitBytes: 384 * MIB, cpuQuotaUs: 150000, pidsMax: '50', cpus: '0' });
  const view = await kernel.guests.config(vmid);
  t.is(view.config.memory, '256');
  t.is(view.pending.hostname, 'renamed');

  // Shrinking again (memory first, then memory+swap) and removing the pids limit.
  await kernel.guests.update(vmid, { set: { memory: 96, swap: 0 }, delete: ['lxc.cgroup.pids.max', 'cpulimit'] }, { caller: ROOT_CALLER });
  t.is(await cgroupFile(cg.memory!, 'memory.limit_in_bytes'), String(96 * MIB));
  t.is(await cgroupFile(cg.memory!, 'memory.memsw.limit_in_bytes'), String(96 * MIB));
  t.is(await cgroupFile(cg.pids!, 'pids.max'), 'max');
  t.is(await cgroupFile(cg.cpu!, 'cpu.cfs_quota_us'), '-1');

  // The pending hostname applies at the next start.
  await kernel.guests.stop(vmid);
  await kernel.guests.start(vmid);
  t.is((await kernel.guests.exec(vmid, ['hostname'])).stdout.trim(), 'renamed');
  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
});

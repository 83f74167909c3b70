/**
 * A container's runtime status from files only in the common case: Corral's `state.json`
 * (init pid + start time), `/proc` and the container's cgroup files. `lxc-info` runs only when
 * the recorded init is gone while LXC's monitor still lives (a reboot in progress, or a
 * container started by an older kernel), and the new init is then recorded.
 *
 * @packageDocumentation
 */
import type { GuestRuntimeStatus } from '@corral/core';
import type { ContainerCgroup, HostCgroups } from '../host/HostCgroups.js';
import { CLOCK_TICKS_PER_SECOND, childPids, isSameProcess, readCmdline, readProcStat, systemUptimeSeconds } from '../host/procfs.js';
import type { ContainerRunDir, ContainerRunState } from './ContainerRunDir.js';
import type { LxcTools } from './LxcTools.js';

/** The init of a running container, or `undefined` when the container is stopped. */
export async function findRunningInit(
  dir: ContainerRunDir,
  tools: LxcTools,
  proc = '/proc',
): Promise<ContainerRunState | undefined> {
  const state = await dir.readState();
  if (state && (await isSameProcess(state.initPid, state.initStartTicks, proc))) return state;
  const monitorPid = await dir.readMonitorPid();
  if (monitorPid === undefined) return undefined;
  const cmdline = await readCmdline(monitorPid, proc);
  if (!cmdline?.startsWith(`[lxc monitor] ${dir.lxcPath} ${dir.name}`)) return undefined;
  // The monitor lives: the container is running, starting, rebooting or stopping.
  let initPid = (await childPids(monitorPid, proc))[0];
  if (initPid === undefined) {
    const info = await tools.info();
    if (info.state === 'STOPPED' || info.pid === undefined) return undefined;
    initPid = info.pid;
  }
  const stat = await readProcStat(initPid, proc);
  if (!stat) return undefined;
  const next: ContainerRunState = { initPid, initStartTicks: stat.startTicks, monitorPid, startedAt: state?.startedAt ?? Date.now() };
  await dir.writeState(next).catch(() => undefined);
  return next;
}

/** True when the container's freezer says frozen (or freezing). */
export async function isFrozen(cg: ContainerCgroup): Promise<boolean> {
  if (cg.version === 1) {
    const s = await cg.read('freezer.state');
    return s === 'FROZEN' || s === 'FREEZING';
  }
  return (await cg.read('cgroup.freeze')) === '1';
}

/** Limits and usage read back from the cgroup (bytes, µs, counts). */
export async function readCgroupFigures(cg: ContainerCgroup): Promise<Record<string, number | string | undefined>> {
  if (cg.version === 1) {
    const [memory, memoryLimit, memswLimit, failcnt, cpuNs, quota, period, shares, cpus, pids, pidsMax] = await Promise.all([
      cg.readNumber('memory.usage_in_bytes'),
      cg.readNumber('memory.limit_in_bytes'),
      cg.readNumber('memory.memsw.limit_in_bytes'),
      cg.readNumber('memory.failcnt'),
      cg.readNumber('cpuacct.usage'),
      cg.readNumber('cpu.cfs_quota_us'),
      cg.readNumber('cpu.cfs_period_us'),
      cg.readNumber('cpu.shares'),
      cg.read('cpuset.cpus'),
      cg.readNumber('pids.current'),
      cg.read('pids.max'),
    ]);
    return {
      memoryBytes: memory,
      memoryLimitBytes: memoryLimit,
      memorySwapLimitBytes: memswLimit,
      memoryFailCount: failcnt,
      cpuSeconds: cpuNs === undefined ? undefined : cpuNs / 1e9,
      cpuQuotaUs: quota,
      cpuPeriodUs: period,
      cpuShares: shares,
      cpus,
      pids,
      pidsMax,
    };
  }
  const [memory, memoryMax, swapMax, cpuStat, cpuMax, weight, cpus, pids, pidsMax] = await Promise.all([
    cg.readNumber('memory.current'),
    cg.read('memory.max'),
    cg.read('memory.swap.max'),
    cg.read('cpu.stat'),
    cg.read('cpu.max'),
    cg.readNumber('cpu.weight'),
    cg.read('cpuset.cpus'),
    cg.readNumber('pids.current'),
    cg.read('pids.max'),
  ]);
  const usageUs = cpuStat ? /usage_usec (\d+)/.exec(cpuStat)?.[1] : undefined;
  const [quota, period] = (cpuMax ?? '').split(' ');
  return {
    memoryBytes: memory,
    memoryLimitBytes: memoryMax && memoryMax !== 'max' ? Number(memoryMax) : undefined,
    swapLimitBytes: swapMax && swapMax !== 'max' ? Number(swapMax) : undefined,
    cpuSeconds: usageUs === undefined ? undefined : Number(usageUs) / 1e6,
    cpuQuotaUs: quota && quota !== 'max' ? Number(quota) : -1,
    cpuPeriodUs: period ? Number(period) : undefined,
    cpuWeight: weight,
    cpus,
    pids,
    pidsMax,
  };
}

/** The runtime status of the container of `dir`. Never throws for a stopped container. */
export async function readContainerStatus(
  dir: ContainerRunDir,
  tools: LxcTools,
  cgroups: HostCgroups,
): Promise<GuestRuntimeStatus> {
  const init = await findRunningInit(dir, tools, cgroups.proc);
  if (!init) return { state: 'stopped' };
  const cg = await cgroups.containerCgroup(init.initPid);
  const stat = await readProcStat(init.initPid, cgroups.proc);
  const uptime = stat ? Math.max(0, (await systemUptimeSeconds(cgroups.proc)) - stat.startTicks / CLOCK_TICKS_PER_SECOND) : undefined;
  if (!cg) return { state: 'running', pid: init.initPid, uptimeSec: uptime };
  const [frozen, figures] = await Promise.all([isFrozen(cg), readCgroupFigures(cg)]);
  const paths: Record<string, string> = {};
  for (const [controller, path] of cg.dirs) paths[controller || 'unified'] = path;
  return {
    state: frozen ? 'frozen' : 'running',
    pid: init.initPid,
    uptimeSec: uptime === undefined ? undefined : Math.floor(uptime),
    memoryBytes: figures.memoryBytes as number | undefined,
    maxMemoryBytes: figures.memoryLimitBytes as number | undefined,
    cpuSeconds: figures.cpuSeconds as number | undefined,
    detail: {
      lxcPath: dir.lxcPath,
      name: dir.name,
      monitorPid: init.monitorPid,
      cgroupVersion: cg.version,
      cgroups: paths,
      cgroup: figures,
    },
  };
}

/**
 * Resource limits of a container config as cgroup settings: Proxmox's `memory`, `swap`,
 * `cores`, `cpulimit` and `cpuunits`, for cgroup v1 or v2, plus the raw `lxc.cgroup.*` /
 * `lxc.cgroup2.*` keys of the host's version. The same settings become `lxc.cgroup*` lines at
 * start and are written to the live cgroup by `applyChanges`.
 *
 * @packageDocumentation
 */
import type { ConfigEntry } from '@corral/core';
import type { CgroupVersion } from '../host/HostCgroups.js';
import type { ContainerConfig } from './parseContainerConfig.js';

/** One cgroup file value, with the config key it comes from. */
export interface CgroupSetting {
  /** File name as in the LXC key, e.g. `memory.limit_in_bytes` (v1) or `memory.max` (v2). */
  readonly file: string;
  readonly value: string;
  /** The config key that asks for it (`memory`, `cpulimit`, `lxc.cgroup.pids.max`...). */
  readonly key: string;
}

/** What the settings depend on besides the config. */
export interface CgroupHost {
  readonly version: CgroupVersion;
  /** v1 only: true when memory+swap can be limited (`memory.memsw.*` exists). */
  readonly swapAccounting: boolean;
  /** The CPUs containers may use, as a cpuset list (`0-3`). */
  readonly cpus: string;
}

/** Proxmox's defaults: 512 MiB of memory and 512 MiB of swap. */
export const DEFAULT_MEMORY_MIB = 512;
export const DEFAULT_SWAP_MIB = 512;
/** CFS period used for `cpulimit`, µs. */
export const CFS_PERIOD_US = 100_000;

const MIB = 1024 * 1024;

/** Expands a cpuset list (`0-2,5`) to CPU numbers. */
export function expandCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

/**
 * The cgroup settings of `memory`, `swap`, `cores`, `cpulimit` and `cpuunits` (with
 * Proxmox's defaults for absent keys, so that writing them all resets a deleted key).
 * v1 writes `memory.memsw.limit_in_bytes` after `memory.limit_in_bytes` when raising; see
 * {@link orderMemoryWrites} for live changes.
 */
export function limitSettings(config: ContainerConfig, host: CgroupHost): CgroupSetting[] {
  const v = config.values;
  const memory = (v.memory ?? DEFAULT_MEMORY_MIB) * MIB;
  const swap = (v.swap ?? DEFAULT_SWAP_MIB) * MIB;
  const out: CgroupSetting[] = [];
  const cpus = expandCpuList(host.cpus);
  const cores = v.cores !== undefined && cpus.length > 0 ? cpus.slice(0, Math.min(v.cores, cpus.length)) : cpus;
  const cpuList = cores.join(',');
  const cpulimit = v.cpulimit ?? 0;
  if (host.version === 1) {
    out.push({ file: 'memory.limit_in_bytes', value: String(memory), key: 'memory' });
    if (host.swapAccounting) out.push({ file: 'memory.memsw.limit_in_bytes', value: String(memory + swap), key: 'swap' });
    out.push({ file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US), key: 'cpulimit' });
    out.push({ file: 'cpu.cfs_quota_us', value: cpulimit > 0 ? String(Math.round(cpulimit * CFS_PERIOD_US)) : '-1', key: 'cpulimit' });
    // cpu.shares: 2..262144; Proxmox's v1 default is 1024.
    const units = v.cpuunits === undefined || v.cpuunits === 0 ? 1024 : Math.min(262144, Math.max(2, v.cpuunits));
    out.push({ file: 'cpu.shares', value: String(units), key: 'cpuunits' });
    if (cpuList) out.push({ file: 'cpuset.cpus', value: cpuList, key: 'cores' });
  } else {
    out.push({ file: 'memory.max', value: String(memory), key: 'memory' });
    out.push({ file: 'memory.swap.max', value: String(swap), key: 'swap' });
    out.push({ file: 'cpu.max', value: `${cpulimit > 0 ? Math.round(cpulimit * CFS_PERIOD_US) : 'max'} ${CFS_PERIOD_US}`, key: 'cpulimit' });
    // cpu.weight: 1..10000; Proxmox's v2 default is 100.
    const units = v.cpuunits === undefined || v.cpuunits === 0 ? 100 : Math.min(10000, Math.max(1, v.cpuunits));
    out.push({ file: 'cpu.weight', value: String(units), key: 'cpuunits' });
    if (cpuList) out.push({ file: 'cpuset.cpus', value: cpuList, key: 'cores' });
  }
  return out;
}

/** The raw-key prefix of the host's cgroup version: `lxc.cgroup.` (v1) or `lxc.cgroup2.` (v2). */
export function rawCgroupPrefix(version: CgroupVersion): string {
  return version === 1 ? 'lxc.cgroup.' : 'lxc.cgroup2.';
}

/**
 * Raw `lxc.cgroup.*` (v1) or `lxc.cgroup2.*` (v2) entries as settings (the last value of a
 * repeated key wins, as in LXC; `devices.*` are left to LXC since they accumulate).
 */
export function rawCgroupSettings(raw: readonly ConfigEntry[], version: CgroupVersion): CgroupSetting[] {
  const prefix = rawCgroupPrefix(version);
  const byFile = new Map<string, CgroupSetting>();
  for (const { key, value } of raw) {
    if (!key.startsWith(prefix)) continue;
    const file = key.slice(prefix.length);
    if (file.startsWith('devices.')) continue;
    byFile.set(file, { file, value, key });
  }
  return [...byFile.values()];
}

/** The value a raw cgroup file returns to when its key is deleted, where it is known. */
export function resetValueOf(file: string): string | undefined {
  const resets: Record<string, string> = { 'pids.max': 'max', 'cpu.cfs_quota_us': '-1', 'memory.max': 'max', 'memory.high': 'max', 'memory.swap.max': 'max', 'cpu.max': 'max 100000' };
  return resets[file];
}

/**
 * Orders v1 memory writes so the kernel accepts each one: `memory.memsw.limit_in_bytes` must
 * stay at least `memory.limit_in_bytes`. The memory limit goes first when it fits under the
 * current memory+swap limit, else memory+swap goes first.
 *
 * @param currentMemsw - The current `memory.memsw.limit_in_bytes` (undefined: unknown).
 */
export function orderMemoryWrites(settings: readonly CgroupSetting[], currentMemsw: number | undefined): CgroupSetting[] {
  const mem = settings.find((s) => s.file === 'memory.limit_in_bytes');
  const memsw = settings.find((s) => s.file === 'memory.memsw.limit_in_bytes');
  if (!mem || !memsw) return [...settings];
  const rest = settings.filter((s) => s !== mem && s !== memsw);
  const memFirst = currentMemsw !== undefined && Number(mem.value) <= currentMemsw;
  return memFirst ? [mem, memsw, ...rest] : [memsw, mem, ...rest];
}

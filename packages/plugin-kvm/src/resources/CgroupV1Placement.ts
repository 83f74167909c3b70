import { mkdir, readFile, realpath, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Logger } from '@corral/core';
import { settleAll } from '../runtime/settleAll.js';
import type { ResourceControl, ResourceLimits, ResourcePlacement } from './ResourceControl.js';

/** CFS period the driver uses, µs (the kernel's default). */
export const CFS_PERIOD_US = 100_000;

/** Options of {@link CgroupV1Placement}. */
export interface CgroupV1PlacementOptions {
  /** Where the v1 hierarchies are mounted. Default `/sys/fs/cgroup`. */
  readonly root?: string;
  /** Parent group of every VM, relative to each hierarchy. Default `qemu.slice`. */
  readonly parent?: string;
  /** Controllers to place VMs in (those not mounted are skipped). Default cpu, cpuacct, memory, pids, blkio. */
  readonly controllers?: readonly string[];
}

/**
 * Direct cgroup v1 placement, for hosts without systemd: the VM goes into
 * `<root>/<controller>/<parent>/<vmid>.scope` of each controller, with
 * `cpu.cfs_quota_us` = cpulimit × {@link CFS_PERIOD_US} (−1 without a limit),
 * `cpu.shares` = cpuunits (1024 by default) and `memory.limit_in_bytes` from the limits.
 */
export class CgroupV1Placement implements ResourceControl {
  readonly kind = 'cgroup-v1';
  readonly #root: string;
  readonly #parent: string;
  readonly #controllers: readonly string[];

  constructor(options: CgroupV1PlacementOptions = {}) {
    this.#root = options.root ?? '/sys/fs/cgroup';
    this.#parent = options.parent ?? 'qemu.slice';
    if (this.#parent.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new InvalidArgumentError('parent', `cgroup parent '${this.#parent}' must be a relative path without . or ..`);
    }
    this.#controllers = options.controllers ?? ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'];
  }

  /** True when this host has a cgroup v1 `cpu` hierarchy under `root`. */
  static async available(root = '/sys/fs/cgroup'): Promise<boolean> {
    try {
      await stat(join(root, 'cpu', 'cgroup.procs'));
      return true;
    } catch {
      return false;
    }
  }

  async place(options: { vmid: number; pid: number; limits: ResourceLimits; log: Logger }): Promise<ResourcePlacement> {
    // Each step touches one file per hierarchy: the hierarchies are done side by side.
    const mounts = await Promise.all(this.#controllers.map((c) => realpath(join(this.#root, c)).catch(() => undefined)));
    const cgroups: Record<string, string> = {};
    const seen = new Set<string>();
    this.#controllers.forEach((controller, i) => {
      const mount = mounts[i];
      if (mount === undefined || seen.has(mount)) return; // not mounted, or co-mounted (cpu,cpuacct)
      seen.add(mount);
      cgroups[controller] = join(mount, this.#parent, `${options.vmid}.scope`);
    });
    await settleAll(Object.values(cgroups).map((dir) => mkdir(dir, { recursive: true })));
    const placement: ResourcePlacement = { kind: this.kind, cgroups };
    await this.update(placement, options.limits);
    await settleAll(Object.values(cgroups).map((dir) => writeFile(join(dir, 'cgroup.procs'), `${options.pid}\n`)));
    options.log.info(`placed QEMU pid ${options.pid} in cgroup v1 ${this.#parent}/${options.vmid}.scope`);
    return placement;
  }

  async update(placement: ResourcePlacement, limits: ResourceLimits): Promise<void> {
    const cpu = placement.cgroups?.cpu;
    const memory = placement.cgroups?.memory;
    await settleAll([
      cpu ? this.#updateCpu(cpu, limits) : undefined,
      memory ? writeFile(join(memory, 'memory.limit_in_bytes'), `${limits.memoryBytes ?? -1}\n`) : undefined,
    ]);
  }

  /** CFS period first: the kernel checks the quota against it. */
  async #updateCpu(cpu: string, limits: ResourceLimits): Promise<void> {
    await writeFile(join(cpu, 'cpu.cfs_period_us'), `${CFS_PERIOD_US}\n`);
    const quota = limits.cpuLimit ? Math.max(1000, Math.round(limits.cpuLimit * CFS_PERIOD_US)) : -1;
    await settleAll([writeFile(join(cpu, 'cpu.cfs_quota_us'), `${quota}\n`), writeFile(join(cpu, 'cpu.shares'), `${limits.cpuUnits ?? 1024}\n`)]);
  }

  async release(placement: ResourcePlacement): Promise<void> {
    for (const dir of Object.values(placement.cgroups ?? {})) {
      // A task that just exited may still be listed for a moment: retry EBUSY for up to 3 s.
      for (let attempt = 0; ; attempt++) {
        try {
          await rmdir(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 60) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  }

  /** The `cgroup.procs` of a placed VM's controller, for checks. */
  static async procs(placement: ResourcePlacement, controller: string): Promise<number[]> {
    const dir = placement.cgroups?.[controller];
    if (!dir) return [];
    return (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter((l) => l !== '').map(Number);
  }
}

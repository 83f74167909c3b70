/**
 * Where a VM's QEMU process runs in the host's resource hierarchy, and the limits it gets
 * from the config: `cpulimit` (host CPUs), `cpuunits` (CPU weight), `memory`.
 *
 * Implementations: {@link SystemdScope} (a transient `<vmid>.scope` in `qemu.slice` through
 * systemd's D-Bus API, as Proxmox does) where systemd runs, {@link CgroupV1Placement} (direct
 * cgroup v1 directories) where it does not, {@link NoResourceControl} elsewhere.
 *
 * @packageDocumentation
 */
import type { Logger } from '@corral/core';

/** Limits of one VM. Absent fields mean "no limit" / the default weight. */
export interface ResourceLimits {
  /** Most host CPUs the VM may use (`cpulimit`: 1.5 = one and a half CPUs). */
  readonly cpuLimit?: number;
  /** CPU weight (`cpuunits`; cgroup v1 `cpu.shares`, default 1024). */
  readonly cpuUnits?: number;
  /** Memory limit of the whole QEMU process, bytes (guest RAM plus QEMU's own overhead). */
  readonly memoryBytes?: number;
}

/** Where a VM was placed; JSON-serializable (kept in the VM's runtime record for re-attach). */
export interface ResourcePlacement {
  /** {@link ResourceControl.kind} that made it. */
  readonly kind: string;
  /** systemd unit name (`100.scope`). */
  readonly unit?: string;
  /** cgroup v1 directories by controller. */
  readonly cgroups?: Readonly<Record<string, string>>;
}

/** Places a VM's process and applies its limits. */
export interface ResourceControl {
  /** `systemd`, `cgroup-v1` or `none`. */
  readonly kind: string;
  /**
   * Moves `pid` (all its threads) into the VM's group and applies `limits`. Throws
   * `CommandFailedError`/`ProtocolError`/`UnavailableError` from the layer below.
   */
  place(options: { vmid: number; pid: number; limits: ResourceLimits; log: Logger }): Promise<ResourcePlacement>;
  /** Changes the limits of a placed VM (live `cpulimit`/`cpuunits` changes). */
  update(placement: ResourcePlacement, limits: ResourceLimits): Promise<void>;
  /** Removes what {@link place} made, after the process exited. Never throws for "already gone". */
  release(placement: ResourcePlacement): Promise<void>;
}

/** Does nothing (no systemd, no cgroup v1 hierarchy): the VM runs in the caller's groups. */
export class NoResourceControl implements ResourceControl {
  readonly kind = 'none';
  async place(options: { log: Logger; limits: ResourceLimits }): Promise<ResourcePlacement> {
    if (options.limits.cpuLimit !== undefined || options.limits.cpuUnits !== undefined) {
      options.log.warn('no systemd and no cgroup v1 hierarchy: cpulimit/cpuunits are not applied');
    }
    return { kind: this.kind };
  }
  async update(): Promise<void> {}
  async release(): Promise<void> {}
}

import { access } from 'node:fs/promises';
import { ProtocolError, TimeoutError, UnavailableError, type Logger } from '@corral/core';
import dbus from 'dbus-next';
import type { ResourceControl, ResourceLimits, ResourcePlacement } from './ResourceControl.js';

const SYSTEMD = 'org.freedesktop.systemd1';
const SYSTEMD_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

/** Options of {@link SystemdScope}. */
export interface SystemdScopeOptions {
  /** D-Bus address to use instead of the system bus (tests use a private `dbus-daemon`). */
  readonly busAddress?: string;
  /** Slice of every VM scope. Default `qemu.slice` (as Proxmox). */
  readonly slice?: string;
  /** cgroup v2 hosts use `CPUWeight`, v1 hosts `CPUShares`. Default: probed from /sys/fs/cgroup. */
  readonly cgroupVersion?: 1 | 2;
  /** How long to wait for systemd's job to finish, ms. Default 10 s. */
  readonly jobTimeoutMs?: number;
}

/** A systemd Manager proxy, as far as Corral calls it. */
interface ManagerInterface {
  Subscribe(): Promise<void>;
  StartTransientUnit(name: string, mode: string, properties: Array<[string, dbus.Variant]>, aux: unknown[]): Promise<string>;
  SetUnitProperties(name: string, runtime: boolean, properties: Array<[string, dbus.Variant]>): Promise<void>;
  StopUnit(name: string, mode: string): Promise<string>;
  on(event: 'JobRemoved', listener: (id: number, job: string, unit: string, result: string) => void): void;
  off(event: 'JobRemoved', listener: (id: number, job: string, unit: string, result: string) => void): void;
}

/**
 * Places a VM's QEMU in a transient systemd scope `<vmid>.scope` in `qemu.slice`, with
 * `KillMode=none` (stopping the scope never kills the VM: the driver stops it through QMP),
 * through `org.freedesktop.systemd1.Manager.StartTransientUnit` on the system bus, and waits
 * for the job's `JobRemoved` signal. Properties: `Description`, `Slice`, `PIDs`, `KillMode`,
 * `CPUQuotaPerSecUSec` (cpulimit), `CPUShares` (cgroup v1) or `CPUWeight` (v2) from
 * cpuunits, `MemoryMax`. A scope left from an earlier run (`UnitExists`) is stopped first.
 *
 * Every call opens its own bus connection and closes it (VM starts are rare).
 */
export class SystemdScope implements ResourceControl {
  readonly kind = 'systemd';
  readonly #options: SystemdScopeOptions;

  constructor(options: SystemdScopeOptions = {}) {
    this.#options = options;
  }

  /** True when systemd is the init system of this host (`/run/systemd/system` exists, as `sd_booted`). */
  static async running(): Promise<boolean> {
    try {
      await access('/run/systemd/system');
      return true;
    } catch {
      return false;
    }
  }

  async place(options: { vmid: number; pid: number; limits: ResourceLimits; log: Logger }): Promise<ResourcePlacement> {
    const unit = `${options.vmid}.scope`;
    const properties: Array<[string, dbus.Variant]> = [
      ['Description', new dbus.Variant('s', `Corral VM ${options.vmid}`)],
      ['Slice', new dbus.Variant('s', this.#options.slice ?? 'qemu.slice')],
      ['PIDs', new dbus.Variant('au', [options.pid])],
      ['KillMode', new dbus.Variant('s', 'none')],
      ...(await this.#limitProperties(options.limits)),
    ];
    await this.#withManager(async (manager) => {
      try {
        await this.#runJob(manager, () => manager.StartTransientUnit(unit, 'fail', properties, []), unit);
      } catch (err) {
        if ((err as { type?: string }).type !== 'org.freedesktop.systemd1.UnitExists') throw err;
        options.log.warn(`systemd unit ${unit} exists from an earlier run: stopping it`);
        await this.#runJob(manager, () => manager.StopUnit(unit, 'replace'), unit);
        await this.#runJob(manager, () => manager.StartTransientUnit(unit, 'fail', properties, []), unit);
      }
    });
    options.log.info(`placed QEMU pid ${options.pid} in systemd scope ${unit}`);
    return { kind: this.kind, unit };
  }

  async update(placement: ResourcePlacement, limits: ResourceLimits): Promise<void> {
    if (!placement.unit) return;
    const properties = await this.#limitProperties(limits);
    await this.#withManager((manager) => manager.SetUnitProperties(placement.unit!, true, properties));
  }

  async release(placement: ResourcePlacement): Promise<void> {
    if (!placement.unit) return;
    await this.#withManager(async (manager) => {
      try {
        await manager.StopUnit(placement.unit!, 'replace');
      } catch (err) {
        // The scope ends by itself once its last process exits.
        if ((err as { type?: string }).type !== 'org.freedesktop.systemd1.NoSuchUnit') throw err;
      }
    });
  }

  async #limitProperties(limits: ResourceLimits): Promise<Array<[string, dbus.Variant]>> {
    const out: Array<[string, dbus.Variant]> = [];
    // systemd's "infinity" for these properties is UINT64_MAX.
    const infinity = 18446744073709551615n;
    out.push(['CPUQuotaPerSecUSec', new dbus.Variant('t', limits.cpuLimit ? BigInt(Math.round(limits.cpuLimit * 1_000_000)) : infinity)]);
    const v2 = (this.#options.cgroupVersion ?? (await probeCgroupVersion())) === 2;
    if (v2) {
      // cpuunits use the v1 scale (default 1024); CPUWeight's default is 100.
      const weight = limits.cpuUnits === undefined ? 100 : Math.min(10000, Math.max(1, Math.round((limits.cpuUnits * 100) / 1024)));
      out.push(['CPUWeight', new dbus.Variant('t', BigInt(weight))]);
    } else {
      out.push(['CPUShares', new dbus.Variant('t', BigInt(limits.cpuUnits ?? 1024))]);
    }
    out.push(['MemoryMax', new dbus.Variant('t', limits.memoryBytes !== undefined ? BigInt(limits.memoryBytes) : infinity)]);
    return out;
  }

  /** Runs `call` (which returns a job path) and waits for that job's JobRemoved with result `done`. */
  async #runJob(manager: ManagerInterface, call: () => Promise<string>, unit: string): Promise<void> {
    const timeoutMs = this.#options.jobTimeoutMs ?? 10_000;
    const removed = new Map<string, string>();
    let wake: (() => void) | undefined;
    const listener = (_id: number, job: string, _unit: string, result: string): void => {
      removed.set(job, result);
      wake?.();
    };
    manager.on('JobRemoved', listener);
    try {
      const job = await call();
      const deadline = Date.now() + timeoutMs;
      while (!removed.has(job)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`systemd job ${job} for ${unit}`, timeoutMs);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 200));
        });
      }
      const result = removed.get(job)!;
      if (result !== 'done') throw new ProtocolError('systemd', `systemd job for ${unit} ended with '${result}'`);
    } finally {
      manager.off('JobRemoved', listener);
    }
  }

  async #withManager<T>(fn: (manager: ManagerInterface) => Promise<T>): Promise<T> {
    const bus = this.#options.busAddress ? dbus.sessionBus({ busAddress: this.#options.busAddress }) : dbus.systemBus();
    // dbus-next crashes the process on an unhandled 'error' event (no system bus...), and
    // leaves pending calls unanswered when the connection fails: race every step against it.
    let timer: NodeJS.Timeout | undefined;
    const broken = new Promise<never>((_, reject) => {
      bus.on('error', (err: unknown) =>
        reject(new UnavailableError('systemd', `cannot reach systemd on D-Bus: ${(err as Error)?.message ?? String(err)}`, { cause: err })),
      );
      const timeoutMs = (this.#options.jobTimeoutMs ?? 10_000) + 5_000;
      timer = setTimeout(() => reject(new TimeoutError('systemd on D-Bus', timeoutMs)), timeoutMs);
    });
    broken.catch(() => undefined);
    try {
      const obj = await Promise.race([bus.getProxyObject(SYSTEMD, SYSTEMD_PATH), broken]);
      const manager = obj.getInterface(MANAGER) as unknown as ManagerInterface;
      await Promise.race([manager.Subscribe(), broken]);
      return await Promise.race([fn(manager), broken]);
    } catch (err) {
      if (err instanceof dbus.DBusError && err.type === 'org.freedesktop.DBus.Error.ServiceUnknown') {
        throw new UnavailableError('systemd', `systemd is not on this D-Bus: ${err.text}`, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
      bus.disconnect();
    }
  }
}

/** 2 when /sys/fs/cgroup is a cgroup v2 (unified) mount, else 1. */
async function probeCgroupVersion(): Promise<1 | 2> {
  try {
    await access('/sys/fs/cgroup/cgroup.controllers');
    return 2;
  } catch {
    return 1;
  }
}

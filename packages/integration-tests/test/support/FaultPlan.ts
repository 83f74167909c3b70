/**
 * Fault injection for the guest facade's multi-step operations: a storage driver, a config
 * store and hypervisor drivers that fail chosen calls. One {@link FaultPlan} numbers every call
 * to the wrapped mutating methods of all of them, in order, so a test can fail "the k-th step" of an operation for
 * each k, and also fail undo steps.
 *
 * @packageDocumentation
 */
import { definePlugin, extensionPoints, UnavailableError, type ConfigStore, type CorralPlugin, type HypervisorDriver, type StorageDriver } from '@corral/core';
import { DirStorageDriver } from '@corral/plugin-storage-dir';

/** Mutating storage driver methods that count as steps. */
const STORAGE_STEPS = [
  'allocate',
  'free',
  'resize',
  'createBase',
  'cloneLinked',
  'importVolume',
  'exportVolume',
  'copyVolume',
  'snapshotCreate',
  'snapshotRollback',
  'snapshotDelete',
] as const;
/** Config store methods that count as steps. */
const CONFIG_STEPS = ['write', 'delete', 'transaction', 'move'] as const;
/** Hypervisor driver methods that count as steps (the driver's own multi-step work inside is not split). */
const HYPERVISOR_STEPS = ['start', 'stop', 'applyChanges', 'populateVolumes', 'snapshotCreate', 'snapshotRollback', 'snapshotDelete', 'recover'] as const;

/** Options of {@link FaultPlan.arm}. */
export interface ArmOptions {
  /** Fail every step from this 1-based number on (so undo steps fail too). */
  readonly failEveryStepFrom?: number;
  /**
   * The failing steps do their work and then throw ("the write lands, then throws": an fsync
   * after the rename fails). Without it a failing step throws before doing anything.
   */
  readonly afterTheWork?: boolean;
}

/** Which calls fail. Disarmed plans count nothing and fail nothing. */
export class FaultPlan {
  /** The steps seen while armed, in order (`storage.allocate`, `config.write`...). */
  readonly steps: string[] = [];
  #armed = false;
  #failing = new Set<number>();
  #failAfter: number | undefined;
  #afterTheWork = false;

  /** Counts from 0 again and fails the steps with these 1-based numbers (none: only count). */
  arm(failing: Iterable<number> = [], options: ArmOptions = {}): void {
    this.steps.length = 0;
    this.#failing = new Set(failing);
    this.#failAfter = options.failEveryStepFrom;
    this.#afterTheWork = options.afterTheWork ?? false;
    this.#armed = true;
  }

  disarm(): void {
    this.#armed = false;
  }

  /**
   * Called by the wrappers before each step: throws the injected fault when the plan fails
   * this step before its work; returns the fault to throw after the work otherwise (or null).
   */
  step(name: string): Error | null {
    if (!this.#armed) return null;
    this.steps.push(name);
    const n = this.steps.length;
    if (!this.#failing.has(n) && !(this.#failAfter !== undefined && n >= this.#failAfter)) return null;
    const fault = new UnavailableError('fault-injection', `injected fault ${this.#afterTheWork ? 'after the work of' : 'at'} step ${n} (${name})`);
    if (this.#afterTheWork) return fault;
    throw fault;
  }
}

function wrap<T extends object>(target: T, prefix: string, methods: readonly string[], plan: FaultPlan): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof value !== 'function' || !methods.includes(String(prop))) return typeof value === 'function' ? value.bind(obj) : value;
      // Every wrapped method is async: the fault is a rejection, as a real failure would be.
      return async (...args: unknown[]) => {
        const after = plan.step(`${prefix}.${String(prop)}`);
        const out = await (value as (...a: unknown[]) => unknown).apply(obj, args);
        if (after) throw after;
        return out;
      };
    },
  });
}

/** The `dir` storage type, with its mutating calls going through `plan`. Replaces storageDirPlugin. */
export function faultyDirPlugin(plan: FaultPlan): CorralPlugin {
  return definePlugin({
    id: 'storage-dir',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.storageDrivers, 'dir', wrap<StorageDriver>(new DirStorageDriver(), 'storage', STORAGE_STEPS, plan));
    },
  });
}

/** A hypervisor plugin (id `id`, guest type `type`) whose driver's mutating calls go through `plan`. */
export function faultyHypervisorPlugin(id: string, driver: HypervisorDriver, plan: FaultPlan): CorralPlugin {
  return definePlugin({
    id,
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.hypervisors, driver.info.type, wrap<HypervisorDriver>(driver, 'hypervisor', HYPERVISOR_STEPS, plan));
    },
  });
}

/** `store` with its writes, deletes, transactions and moves going through `plan`. */
export function faultyConfigStore(store: ConfigStore, plan: FaultPlan): ConfigStore {
  return wrap(store, 'config', CONFIG_STEPS, plan);
}

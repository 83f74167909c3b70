/**
 * The machinery every guest operation shares: drivers, driver contexts, tasks, the guest lock
 * (host-wide, with its loss signal), the persistent `lock:` key, state checks, privilege
 * checks and undo. {@link GuestFacade} and the operation modules (`createGuest`,
 * `updateGuest`...) are built on it.
 *
 * @internal
 * @packageDocumentation
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigStore } from '../config/ConfigStore.js';
import type { GuestConfigEntries, GuestContext, GuestRuntimeStatus, GuestStorageAccess, GuestType, HypervisorDriver } from '../contracts/hypervisor.js';
import { AbortedError, CorralError, InvalidStateError, UnavailableError, isCorralError } from '../errors.js';
import type { EventBus } from '../events/EventBus.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { LockManager, LockMode } from '../locks/LockManager.js';
import { checkNotLocked, guestLockName, type GuestLockReason } from '../locks/guestLock.js';
import { assertPrivileged, checkCaller, isPrivileged, type Caller, type PrivilegedUse } from '../security/Caller.js';
import { guestPrivilegedUses } from '../contracts/declaredPrivileges.js';
import type { StorageFacade } from '../storage/StorageFacade.js';
import type { GuestNetworkAccess, NicPlugHook } from '../contracts/network.js';
import { LinuxBridgeNicPlugger } from '../network/LinuxBridgeNicPlugger.js';
import { guestNetworkAccess } from '../network/guestNetworkAccess.js';
import type { TaskHandle, TaskManager } from '../tasks/TaskManager.js';
import type { Logger } from '../util/Logger.js';
import { GuestTypes, type GuestTypeTraits } from './guestTypes.js';
import { GuestConfigRepository, type StoredGuestConfig } from './GuestConfigRepository.js';

/** Options every guest operation accepts. */
export interface GuestOperationOptions {
  /** Cancels the operation (the task ends with status `aborted`). */
  readonly signal?: AbortSignal;
  /**
   * Who asks (recorded as the UPID's user). Default `DEFAULT_CALLER`, unprivileged:
   * root-equivalent keys need a privileged caller, `ROOT_CALLER` or one made by
   * `privilegedCaller()` (a plain object saying `privileged: true` is refused).
   */
  readonly caller?: Caller;
  /** Called with the UPID as soon as the task starts (before it ends). */
  readonly onTask?: (upid: string) => void;
  /** How long to wait for the guest lock, ms (default 10 s). */
  readonly lockTimeoutMs?: number;
}

/** What a finished guest task returns. */
export interface GuestTaskResult {
  readonly upid: string;
  readonly vmid: number;
}

/** Wiring of a {@link GuestFacade}. */
export interface GuestFacadeDeps {
  readonly store: ConfigStore;
  readonly hypervisors: () => ReadonlyMap<string, HypervisorDriver>;
  readonly storage: StorageFacade;
  readonly runner: CommandRunner;
  readonly locks: LockManager;
  readonly tasks: TaskManager;
  readonly events: EventBus;
  readonly logger: Logger;
  readonly node: string;
  readonly runDir: string;
  /** NIC plug hooks, in registration order (default none). */
  readonly nicHooks?: () => ReadonlyMap<string, NicPlugHook>;
  /** The Linux-bridge plugger (default one on the host's `/sys/class/net`). */
  readonly nicPlugger?: LinuxBridgeNicPlugger;
}

/** Where a driver call runs: the task's logger and the signal that stops it. */
export interface OperationScope {
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  /** Create the guest's run directory when missing (default true; status reads pass false). */
  readonly createRunDir?: boolean;
}

/** The task and the signal (task cancelled or guest lock lost) of an operation under the guest lock. */
export interface LockedScope {
  readonly task: TaskHandle;
  /** Aborts when the task is cancelled or the guest lock is lost. */
  readonly signal: AbortSignal;
}

/** Task type names, as Proxmox names them (`qmstart`, `vzcreate`...). */
export type GuestTaskOp =
  | 'create'
  | 'destroy'
  | 'config'
  | 'start'
  | 'stop'
  | 'shutdown'
  | 'reboot'
  | 'reset'
  | 'suspend'
  | 'resume'
  | 'snapshot'
  | 'rollback'
  | 'delsnapshot'
  | 'template'
  | 'clone'
  | 'unlock'
  | 'rescan';

/** See the module comment. @internal */
export class GuestOperations {
  readonly repo: GuestConfigRepository;
  /** The guest types: built-in and registered. */
  readonly types: GuestTypes;
  /** Errors whose failed create/clone already had its placeholder handled ({@link dropPlaceholder}). */
  readonly #placeholderTried = new WeakSet<object>();
  readonly #nicPlugger: LinuxBridgeNicPlugger;

  constructor(readonly deps: GuestFacadeDeps) {
    this.types = new GuestTypes(deps.hypervisors);
    this.repo = new GuestConfigRepository(deps.store, deps.node, this.types, deps.logger);
    this.#nicPlugger = deps.nicPlugger ?? new LinuxBridgeNicPlugger();
  }

  /** The driver of a guest type; `UnavailableError` when no plugin provides it. */
  driver(type: GuestType): HypervisorDriver {
    const d = this.deps.hypervisors().get(type);
    if (!d) throw new UnavailableError(`hypervisor:${type}`, `no plugin provides guest type '${type}'`);
    return d;
  }

  /** A driver context for the guest; its run directory is created unless `scope.createRunDir` is false. */
  async context(vmid: number, type: GuestType, scope: OperationScope = {}): Promise<GuestContext> {
    const runDir = join(this.deps.runDir, type, String(vmid));
    if (scope.createRunDir ?? true) await mkdir(runDir, { recursive: true });
    return {
      vmid,
      node: this.deps.node,
      runner: this.deps.runner,
      runDir,
      log: scope.log ?? this.deps.logger,
      storage: this.storageAccess(scope.signal),
      network: this.networkAccess(scope.log ?? this.deps.logger, scope.signal),
      signal: scope.signal,
    };
  }

  /** NIC plugging (core's Linux-bridge plugger and the registered hooks) as drivers get it. */
  networkAccess(log: Logger, signal?: AbortSignal): GuestNetworkAccess {
    const hooks = this.deps.nicHooks;
    return guestNetworkAccess({
      plugger: this.#nicPlugger,
      hooks: () => (hooks ? [...hooks().values()] : []),
      ctx: { node: this.deps.node, runner: this.deps.runner, log, signal },
    });
  }

  /** The storage facade bound to a signal, as drivers get it. */
  storageAccess(signal?: AbortSignal): GuestStorageAccess {
    const s = this.deps.storage;
    return {
      resolve: (volid, o) => s.resolve(volid, { ...o, signal }),
      deactivateVolume: (volid, o) => s.deactivateVolume(volid, o),
      allocate: (o) => s.allocate({ ...o, signal }),
      free: (volid) => s.free(volid, { signal }),
      snapshotCreate: (volid, name) => s.snapshotCreate(volid, name, { signal }),
      snapshotRollback: (volid, name) => s.snapshotRollback(volid, name, { signal }),
      snapshotDelete: (volid, name) => s.snapshotDelete(volid, name, { signal }),
      canSnapshot: (volid) => s.hasFeature(volid, 'snapshot'),
      sizeOf: async (volid) => (await s.volumeInfo(volid)).sizeBytes,
    };
  }

  /**
   * The caller of an operation (default: unprivileged), checked before anything happens
   * ({@link checkCaller}).
   *
   * @throws PermissionError (`caller`) for an object that claims privilege core did not mint.
   * @throws InvalidArgumentError (`caller.user`) when the user is not a Proxmox user id.
   */
  caller(options: GuestOperationOptions): Caller {
    return checkCaller(options.caller);
  }

  /**
   * Refuses, for an unprivileged caller, volumes among `keys` of `entries` that another guest
   * owns (the vmid in their name): a portal user could otherwise attach, then free or read,
   * another tenant's disk. Disk images of no guest (an iSCSI LUN, which may hold every guest's
   * volume group) need privilege too, as Proxmox asks `Datastore.Allocate` for them. Files of no
   * guest (ISOs, container templates, snippets) and new volumes pass.
   *
   * @throws PermissionError naming the key and the owner.
   */
  async checkVolumeOwners(caller: Caller, driver: HypervisorDriver, vmid: number, entries: GuestConfigEntries, keys: readonly string[]): Promise<void> {
    if (isPrivileged(caller)) return;
    const uses: PrivilegedUse[] = [];
    const subset = Object.fromEntries(keys.filter((k) => k in entries).map((k) => [k, entries[k]!]));
    for (const v of driver.volumes(subset)) {
      const parsed = await this.deps.storage.parse(v.volid);
      if (parsed.vmid !== undefined && parsed.vmid !== vmid) uses.push({ key: v.key, reason: `${v.volid} is a volume of guest ${parsed.vmid}` });
      else if (parsed.vmid === undefined && (parsed.content === 'images' || parsed.content === 'rootdir')) {
        uses.push({ key: v.key, reason: `${v.volid} is a disk of no guest (a storage-level volume such as a LUN)` });
      }
    }
    assertPrivileged(caller, uses);
  }

  /**
   * Refuses root-equivalent uses for an unprivileged caller: `keys` of `entries`, as the
   * driver reports them. Throws `PermissionError`.
   */
  checkPrivileges(caller: Caller, driver: HypervisorDriver, entries: GuestConfigEntries, keys: readonly string[], options: { create?: boolean } = {}): void {
    if (isPrivileged(caller)) return;
    assertPrivileged(caller, guestPrivilegedUses(driver, entries, keys, options));
  }

  /**
   * Runs `fn` as a task named after the guest type and `op` (`qmstart`...), or named `op`
   * itself when `type` is undefined (a task over several guests); resolves with the UPID when
   * it ends.
   */
  async runTask(
    op: GuestTaskOp,
    type: GuestType | undefined,
    vmid: number | undefined,
    options: GuestOperationOptions,
    fn: (task: TaskHandle) => Promise<unknown>,
  ): Promise<string> {
    const handle = this.deps.tasks.run(
      {
        type: type === undefined ? op : taskTypeName(this.types.get(type), op),
        id: vmid === undefined ? '' : String(vmid),
        user: this.caller(options).user,
        node: this.deps.node,
      },
      fn,
      { signal: options.signal },
    );
    options.onTask?.(handle.upid);
    return handle.result.then(() => handle.upid);
  }

  /**
   * The common shape of a guest operation: a task `op` on guest `vmid` (its type read first:
   * `NotFoundError` when it does not exist) whose function runs under the guest lock with a
   * fresh read of the config. Resolves with the UPID and vmid when the task ends.
   */
  async guestTask(
    op: GuestTaskOp,
    vmid: number,
    options: GuestOperationOptions,
    fn: (g: StoredGuestConfig, scope: LockedScope) => Promise<void>,
  ): Promise<GuestTaskResult> {
    const g0 = await this.repo.get(vmid);
    const upid = await this.runTask(op, g0.type, vmid, options, (task) => this.locked(vmid, options, task, fn));
    return { upid, vmid };
  }

  /**
   * {@link guestTask} with the persistent `lock: <reason>` held around `fn` (see
   * {@link withPersistentLock}).
   */
  async persistentLockTask(
    op: GuestTaskOp,
    reason: GuestLockReason,
    vmid: number,
    options: GuestOperationOptions,
    fn: (g: StoredGuestConfig, scope: LockedScope) => Promise<void>,
    prepare?: (g: StoredGuestConfig) => void,
  ): Promise<GuestTaskResult> {
    const g0 = await this.repo.get(vmid);
    const upid = await this.runTask(op, g0.type, vmid, options, (task) => this.withPersistentLock(vmid, reason, options, task, fn, prepare));
    return { upid, vmid };
  }

  /**
   * Runs `fn` holding guest `vmid`'s lock (host-wide) in `mode`; `fn` gets a signal that
   * aborts when the task is cancelled or the lock is lost.
   */
  withGuestLock<T>(
    vmid: number,
    options: GuestOperationOptions,
    task: TaskHandle,
    fn: (signal: AbortSignal) => Promise<T>,
    mode: LockMode = 'exclusive',
  ): Promise<T> {
    return this.deps.locks.withLock(
      guestLockName(vmid),
      async (lease) => {
        const signal = AbortSignal.any([task.signal, lease.lost]);
        try {
          return await fn(signal);
        } catch (err) {
          // Whatever a step threw once the signal aborted (a stream's AbortError, a killed
          // command, a lock wait's AbortedError), the cause is the abort: the task's
          // AbortedError or the LockLostError.
          if (signal.aborted && !isCorralError(err, 'CORRAL_ERR_LOCK_LOST')) {
            if (signal.reason instanceof CorralError) throw signal.reason;
            if (!isCorralError(err, 'CORRAL_ERR_ABORTED')) throw new AbortedError(`guest ${vmid}: operation aborted`, { cause: signal.reason });
          }
          throw err;
        }
      },
      { timeoutMs: options.lockTimeoutMs, signal: task.signal, mode },
    );
  }

  /** Runs `fn` under the guest lock (exclusive) with a fresh read of the config. */
  locked<T>(vmid: number, options: GuestOperationOptions, task: TaskHandle, fn: (g: StoredGuestConfig, scope: LockedScope) => Promise<T>): Promise<T> {
    return this.withGuestLock(vmid, options, task, async (signal) => fn(await this.repo.get(vmid), { task, signal }));
  }

  /**
   * Long operation pattern (Proxmox's lock_config + `lock:` key): under the guest lock, check
   * and set `lock: <reason>`, run `fn` (which may write the config, reporting the new digest),
   * then clear the key. On failure the key is cleared too, the error rethrown. `prepare` may
   * change the document in the same write that sets the lock (a `snapstate: prepare` section).
   */
  withPersistentLock(
    vmid: number,
    reason: GuestLockReason,
    options: GuestOperationOptions,
    task: TaskHandle,
    fn: (g: StoredGuestConfig, scope: LockedScope) => Promise<void>,
    prepare?: (g: StoredGuestConfig) => void,
  ): Promise<void> {
    return this.locked(vmid, options, task, async (g, scope) => {
      checkNotLocked(g.doc.current, vmid);
      prepare?.(g);
      g.doc.current.lock = reason;
      const digest = await this.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
      const clearLock = async (): Promise<void> => {
        const fresh = await this.repo.get(vmid);
        if (fresh.doc.current.lock !== reason) return;
        delete fresh.doc.current.lock;
        await this.repo.write(fresh.type, vmid, fresh.doc, fresh.digest, task.logger);
      };
      try {
        await fn({ ...g, digest }, scope);
      } catch (err) {
        // The operation's error is what the caller needs; a lock that cannot be cleared stays
        // visible (as after a crash) and is a warning.
        await clearLock().catch((e: Error) => task.logger.warn(`lock '${reason}' of guest ${vmid} stays: ${e.message} (unlock clears it)`));
        throw err;
      }
      await clearLock();
    });
  }

  /** The guest's runtime status, refused with `InvalidStateError` unless it is one of `allowed`. */
  async requireState(driver: HypervisorDriver, g: StoredGuestConfig, allowed: readonly string[], op?: string): Promise<GuestRuntimeStatus> {
    const status = await driver.status(await this.context(g.vmid, g.type), g.doc.current);
    if (!allowed.includes(status.state)) {
      const what = op ? `cannot ${op}` : 'wrong state';
      throw new InvalidStateError(status.state, `guest ${g.vmid} is ${status.state}: ${what} (needs ${allowed.join(' or ')})`);
    }
    return status;
  }

  /**
   * After a failed create or clone: removes the reservation placeholder when nothing replaced
   * it (a config with only `lock: create`), then rethrows `err`. A placeholder that cannot be
   * read or removed is a warning on `log` (the task's; default the kernel logger): it keeps
   * the vmid taken until `unlock` and `destroy` remove it.
   */
  async dropPlaceholder(type: GuestType, vmid: number, err: unknown, log: Logger = this.deps.logger): Promise<never> {
    // Called inside the task and again by the caller of the task (for a task that never ran):
    // one attempt per failure, so a warning that the placeholder stays remains true.
    if (typeof err === 'object' && err !== null) {
      if (this.#placeholderTried.has(err)) throw err;
      this.#placeholderTried.add(err);
    }
    const path = this.repo.path(type, vmid);
    try {
      const left = await this.repo.find(vmid);
      if (left && left.doc.current.lock === 'create' && Object.keys(left.doc.current).length === 1) {
        await this.repo.delete(type, vmid, left.digest);
      }
    } catch (dropError) {
      log.warn(`the placeholder config '${path}' of guest ${vmid} stays (${(dropError as Error).message}): guests.unlock(${vmid}) and guests.destroy(${vmid}) remove it`);
    }
    throw err;
  }
}

/** The Proxmox task type of `op` on a guest of a type (`qmstart`, `vzcreate`...): the type's task prefix and the op. */
export function taskTypeName(traits: Pick<GuestTypeTraits, 'taskPrefix'>, op: GuestTaskOp): string {
  return `${traits.taskPrefix}${op}`;
}

/** Options of {@link reserveVmid} for a new guest of `type` on this node: every type's config dir counts. */
export function reservationOptions(ops: GuestOperations, type: GuestType, vmid: number | undefined) {
  return { node: ops.deps.node, type, vmid, configDir: ops.types.get(type).configDir, configDirs: ops.types.all().map((t) => t.configDir) };
}

/** The values of a config given to `create`/`update` as strings (booleans as `1`/`0`). */
export function stringifyConfig(config: Readonly<Record<string, string | number | boolean>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  }
  return out;
}

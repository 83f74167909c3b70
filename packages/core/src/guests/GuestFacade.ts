import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ConsoleEndpoint,
  GuestConfigEntries,
  GuestContext,
  GuestExecResult,
  GuestRuntimeStatus,
  GuestType,
  HypervisorDriver,
} from '../contracts/hypervisor.js';
import { InvalidArgumentError, InvalidStateError, NotSupportedError, type CorralError } from '../errors.js';
import { checkNotLocked } from '../locks/guestLock.js';
import type { TaskHandle } from '../tasks/TaskManager.js';
import { cloneGuest, type CloneGuestOptions } from './cloneGuest.js';
import { createGuest, type CreateGuestOptions } from './createGuest.js';
import { destroyGuest, type DestroyGuestOptions } from './destroyGuest.js';
import type { StoredGuestConfig } from './GuestConfigRepository.js';
import { GuestOperations, type GuestFacadeDeps, type GuestOperationOptions, type GuestTaskOp, type GuestTaskResult } from './GuestOperations.js';
import { deleteGuestSnapshot, rollbackGuest, snapshotGuest, type DeleteSnapshotOptions, type SnapshotGuestOptions } from './guestSnapshots.js';
import { keepDetachedVolumes } from './guestVolumes.js';
import { rescanGuests, type RescanOptions, type RescanResult } from './rescanGuests.js';
import { templateGuest } from './templateGuest.js';
import { unlockGuest, type GuestUnlockResult } from './unlockGuest.js';
import { updateGuest, type GuestConfigChange, type GuestUpdateResult } from './updateGuest.js';

export type { GuestFacadeDeps, GuestOperationOptions, GuestTaskResult } from './GuestOperations.js';
export type { CloneGuestOptions } from './cloneGuest.js';
export type { CreateGuestOptions } from './createGuest.js';
export type { DestroyGuestOptions } from './destroyGuest.js';
export type { DeleteSnapshotOptions, SnapshotGuestOptions } from './guestSnapshots.js';
export type { GuestRescanChange, RescanOptions, RescanResult } from './rescanGuests.js';
export type { GuestUnlockResult } from './unlockGuest.js';
export type { GuestConfigChange, GuestUpdateResult } from './updateGuest.js';

/** One line of {@link GuestFacade.list}. */
export interface GuestListEntry {
  readonly vmid: number;
  readonly type: GuestType;
  readonly name?: string;
  /** The runtime state; `unknown` when the guest's config cannot be read (see `error`). */
  readonly status: GuestRuntimeStatus['state'] | 'unknown';
  readonly pid?: number;
  readonly template: boolean;
  readonly lock?: string;
  readonly tags?: string;
  /**
   * Set when the guest's config file cannot be parsed or read (a coded error: a `ParseError`
   * naming the file and line, or an `UnavailableError` naming a file that cannot be read, with
   * the reason, e.g. EACCES or EIO): the guest is listed with `status: 'unknown'` and no name, and
   * the rest of the list is unaffected. Operations on the guest fail with the same error.
   */
  readonly error?: CorralError;
}

/** A guest's config with its digest, pending changes and snapshots. */
export interface GuestConfigView {
  readonly vmid: number;
  readonly type: GuestType;
  readonly digest: string;
  readonly config: GuestConfigEntries;
  readonly pending: GuestConfigEntries;
  readonly pendingDelete: readonly string[];
  /** Oldest first. `snapstate` is set while a snapshot is being taken (`prepare`), and stays when it was interrupted. */
  readonly snapshots: ReadonlyArray<{ name: string; parent?: string; snaptime?: number; description?: string; vmstate: boolean; snapstate?: string }>;
}

/**
 * `kernel.guests`: every guest operation, for both guest types.
 *
 * - Callers: every operation takes `options.caller` (default unprivileged); root-equivalent
 *   config keys and values (as the guest type's driver reports them: raw hypervisor args, host
 *   paths and devices, passthrough...) are refused with `PermissionError` naming the key unless
 *   the caller is privileged (minted by `privilegedCaller()`, as `ROOT_CALLER`; a plain object
 *   saying `privileged: true` is refused with `PermissionError`). The caller's user is the
 *   task's user.
 * - Tasks and locks: each mutating operation is a task (UPID, log, cancellation) run under the
 *   guest lock (`guest:<vmid>`, host-wide by default: a daemon and a CLI on one data dir
 *   exclude each other; waiters time out with `LockTimeoutError`; a lost lock aborts the
 *   operation). Long operations also set the persistent `lock:` key, so a crash leaves a
 *   visible lock that {@link unlock} clears and repairs.
 * - Commit discipline: configs are validated by the driver before anything happens
 *   (`InvalidConfigError` naming the key). Each operation has one commit point, the config
 *   write; a failure before it undoes every step (volumes freed, snapshots deleted), a failure
 *   after it undoes nothing, and any cleanup then is best effort. Undo steps that fail are task
 *   warnings (the task ends `WARNINGS: n`), never silent.
 */
export class GuestFacade {
  readonly #ops: GuestOperations;

  constructor(deps: GuestFacadeDeps) {
    this.#ops = new GuestOperations(deps);
  }

  // ------------------------------------------------------------------ reads

  /** Every guest of the node with its runtime state, sorted by vmid. */
  async list(filter: { type?: GuestType } = {}): Promise<GuestListEntry[]> {
    const ops = this.#ops;
    const all = (await ops.repo.summaries()).filter((g) => !filter.type || g.type === filter.type);
    // A guest without a run directory is stopped (drivers keep their run state there): one
    // readdir per type instead of one status probe per stopped guest.
    const withRunDir = new Map<GuestType, Set<string>>();
    for (const type of new Set(all.map((g) => g.type))) {
      withRunDir.set(type, new Set(await readdir(join(ops.deps.runDir, type)).catch(() => [] as string[])));
    }
    return Promise.all(
      all.map(async (g): Promise<GuestListEntry> => {
        if (g.error) return { vmid: g.vmid, type: g.type, status: 'unknown', template: false, error: g.error };
        const cur = g.current;
        const driver = ops.deps.hypervisors().get(g.type);
        let status: GuestRuntimeStatus = { state: 'stopped' };
        if (driver && withRunDir.get(g.type)!.has(String(g.vmid))) {
          status = await driver.status(await ops.context(g.vmid, g.type, { createRunDir: false }), cur);
        }
        return {
          vmid: g.vmid,
          type: g.type,
          name: cur.name ?? cur.hostname,
          status: status.state,
          pid: status.pid,
          template: cur.template === '1',
          lock: cur.lock,
          tags: cur.tags,
        };
      }),
    );
  }

  /** A guest's config. Throws `NotFoundError`. */
  async config(vmid: number): Promise<GuestConfigView> {
    return toView(await this.#ops.repo.get(vmid));
  }

  /** Runtime status. Throws `NotFoundError`, `UnavailableError` when no driver handles the type. */
  async status(vmid: number): Promise<GuestRuntimeStatus & { vmid: number; type: GuestType }> {
    const g = await this.#ops.repo.get(vmid);
    const driver = this.#ops.driver(g.type);
    return { vmid, type: g.type, ...(await driver.status(await this.#ops.context(vmid, g.type), g.doc.current)) };
  }

  /** The command line `start` would run (`qm showcmd`). */
  async showCommand(vmid: number): Promise<readonly string[]> {
    const g = await this.#ops.repo.get(vmid);
    const driver = this.#ops.driver(g.type);
    if (!driver.showCommand) throw new NotSupportedError('showcmd', `guest type '${g.type}' has no command line`);
    return driver.showCommand(await this.#ops.context(vmid, g.type), g.doc.current);
  }

  /** Opens a console (VNC/serial socket for VMs, a console stream for containers). */
  async console(vmid: number, kind: 'vnc' | 'serial' | 'console'): Promise<ConsoleEndpoint> {
    const g = await this.#ops.repo.get(vmid);
    const driver = this.#ops.driver(g.type);
    await this.#ops.requireState(driver, g, ['running', 'paused', 'frozen']);
    return driver.openConsole(await this.#ops.context(vmid, g.type), g.doc.current, kind);
  }

  /** Runs a command inside a running guest (container exec, or the VM's guest agent). */
  async exec(vmid: number, argv: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<GuestExecResult> {
    if (argv.length === 0) throw new InvalidArgumentError('argv', 'empty command');
    const g = await this.#ops.repo.get(vmid);
    const driver = this.#ops.driver(g.type);
    if (!driver.exec) throw new NotSupportedError('exec', `guest type '${g.type}' cannot run commands inside`);
    await this.#ops.requireState(driver, g, ['running']);
    return driver.exec(await this.#ops.context(vmid, g.type), g.doc.current, argv, options);
  }

  // ------------------------------------------------------------------ create / destroy

  /**
   * Creates a guest: validates the config, refuses root-equivalent keys of an unprivileged
   * caller (`PermissionError`), allocates `storeid:SIZE` volumes through the storage facade,
   * writes `<vmid>.conf`. `vmid` defaults to the next free id from 100. A failure frees every
   * volume it allocated and leaves no config. With `start`, starts the guest after.
   */
  async create(
    type: GuestType,
    config: Readonly<Record<string, string | number | boolean>>,
    options: CreateGuestOptions & { start?: boolean } = {},
  ): Promise<GuestTaskResult> {
    const result = await createGuest(this.#ops, type, config, options);
    if (options.start) await this.start(result.vmid, options);
    return result;
  }

  /**
   * Destroys a stopped guest: deletes its config, then frees the volumes it owns (those of
   * its config whose name carries its vmid, and unreferenced ones left by interrupted
   * operations), unless `keepVolumes`. Volumes of other guests or shared ISOs attached to it
   * are kept. Refuses a running guest (`InvalidStateError`), `protection: 1`
   * (`ProtectedError`), a persistent lock (`GuestLockedError`), and a template whose bases
   * still have linked clones (`ConflictError` naming them).
   */
  destroy(vmid: number, options: DestroyGuestOptions = {}): Promise<GuestTaskResult> {
    return destroyGuest(this.#ops, vmid, options);
  }

  // ------------------------------------------------------------------ config changes

  /**
   * Changes config keys (`set`) and removes others (`delete`). On a stopped guest the change is
   * written at once; on a running one the driver applies what it can live (hotplug, limits)
   * and the rest goes to `[PENDING]`, applied at the next start. `digest` makes it a
   * compare-and-set (`DigestMismatchError`); without it the last writer wins per key.
   * Root-equivalent keys, in their old or new value, need a privileged caller. A detached
   * volume is kept as `unusedN`; the volume of a deleted `unusedN` is freed after the write,
   * and kept (with a task warning) when it cannot be freed.
   */
  update(vmid: number, change: GuestConfigChange, options: GuestOperationOptions = {}): Promise<GuestUpdateResult> {
    return updateGuest(this.#ops, vmid, change, options);
  }

  /**
   * Clears the persistent `lock:` key (`qm unlock`) and repairs what the interrupted
   * operation left (a VM paused by an interrupted RAM snapshot runs again, the half snapshot
   * is dropped). A task; does nothing to an unlocked guest.
   */
  unlock(vmid: number, options: GuestOperationOptions = {}): Promise<GuestUnlockResult> {
    return unlockGuest(this.#ops, vmid, options);
  }

  /**
   * Rescans the storages (`qm rescan`): volumes owned by a guest that no config key references
   * (left by an interrupted create, clone or snapshot) become `unusedN`, and `size=` values
   * follow the volumes. A task over every guest of the node, or only `options.vmid`.
   */
  rescan(options: RescanOptions = {}): Promise<RescanResult> {
    return rescanGuests(this.#ops, options);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts a stopped guest, applying `[PENDING]` first. `InvalidStateError` when it runs already. */
  async start(vmid: number, options: GuestOperationOptions & { timeoutMs?: number } = {}): Promise<GuestTaskResult> {
    const ops = this.#ops;
    return ops.guestTask('start', vmid, options, async (g, { task, signal }) => {
      const driver = ops.driver(g.type);
      if (g.doc.current.template === '1') throw new InvalidStateError('template', `guest ${vmid} is a template and cannot be started`);
      checkNotLocked(g.doc.current, vmid, { allow: ['suspended'] });
      await ops.requireState(driver, g, ['stopped'], 'start');
      if (Object.keys(g.doc.pending).length > 0 || g.doc.pendingDelete.length > 0) {
        const next = { ...g.doc.current, ...g.doc.pending };
        for (const k of g.doc.pendingDelete) delete next[k];
        driver.validate(next);
        g.doc.current = keepDetachedVolumes(driver, g.doc.current, next);
        g.doc.pending = {};
        g.doc.pendingDelete = [];
        g = { ...g, digest: await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger) };
        task.log('applied pending changes');
      }
      await driver.start(await ops.context(vmid, g.type, { log: task.logger, signal }), g.doc.current, { timeoutMs: options.timeoutMs });
      ops.deps.events.emit('guest:state', { vmid, type: g.type, state: 'running' });
    });
  }

  /** Hard stop. `InvalidStateError` when the guest is not running. */
  stop(vmid: number, options: GuestOperationOptions & { timeoutMs?: number } = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'stop', options, ['running', 'paused', 'frozen'], async (driver, ctx, g) => {
      await driver.stop(ctx, g.doc.current, { timeoutMs: options.timeoutMs });
      this.#ops.deps.events.emit('guest:state', { vmid, type: g.type, state: 'stopped' });
    });
  }

  /**
   * Clean shutdown (ACPI or guest agent for VMs, init signal for containers), waiting
   * `timeoutMs` (default 60 s). On timeout: `TimeoutError`, unless `forceStop` (then a hard stop).
   */
  shutdown(vmid: number, options: GuestOperationOptions & { timeoutMs?: number; forceStop?: boolean } = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'shutdown', options, ['running', 'paused', 'frozen'], async (driver, ctx, g, task) => {
      try {
        await driver.shutdown(ctx, g.doc.current, { timeoutMs: options.timeoutMs ?? 60_000 });
      } catch (err) {
        if (!options.forceStop || (err as { code?: string }).code !== 'CORRAL_ERR_TIMEOUT') throw err;
        task.log('shutdown timed out: stopping');
        await driver.stop(ctx, g.doc.current, {});
      }
      this.#ops.deps.events.emit('guest:state', { vmid, type: g.type, state: 'stopped' });
    });
  }

  /** Clean reboot. */
  reboot(vmid: number, options: GuestOperationOptions & { timeoutMs?: number } = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'reboot', options, ['running'], (driver, ctx, g) =>
      driver.reboot(ctx, g.doc.current, { timeoutMs: options.timeoutMs ?? 60_000 }),
    );
  }

  /** Hard reset (VMs; `qm reset`). `NotSupportedError` for guest types without one. */
  reset(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'reset', options, ['running', 'paused'], async (driver, ctx, g) => {
      if (!driver.reset) throw new NotSupportedError('reset', `guest type '${g.type}' cannot be reset`);
      await driver.reset(ctx, g.doc.current);
    });
  }

  /** Pauses a VM / freezes a container. */
  suspend(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'suspend', options, ['running'], async (driver, ctx, g) => {
      await driver.suspend(ctx, g.doc.current);
      this.#ops.deps.events.emit('guest:state', { vmid, type: g.type, state: this.#ops.types.get(g.type).suspendedState });
    });
  }

  /** Resumes a paused VM / unfreezes a container. */
  resume(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'resume', options, ['paused', 'frozen'], async (driver, ctx, g) => {
      await driver.resume(ctx, g.doc.current);
      this.#ops.deps.events.emit('guest:state', { vmid, type: g.type, state: 'running' });
    });
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * Takes snapshot `name` of every volume (with RAM state when `withState` and the guest
   * runs), recorded as a `[name]` section with `snaptime` and `parent` like Proxmox. While it
   * runs the section carries `snapstate: prepare` and the guest `lock: snapshot`.
   */
  snapshot(vmid: number, name: string, options: SnapshotGuestOptions = {}): Promise<GuestTaskResult> {
    return snapshotGuest(this.#ops, vmid, name, options);
  }

  /** Snapshots of a guest, oldest first. */
  async listSnapshots(vmid: number): Promise<GuestConfigView['snapshots']> {
    return (await this.config(vmid)).snapshots;
  }

  /**
   * Rolls the guest back to snapshot `name`: stops it if running, restores every volume and
   * the config. A snapshot with RAM state is resumed (the guest runs again, as Proxmox does).
   * An incomplete snapshot (`snapstate` set) is refused with `InvalidStateError`.
   */
  rollback(vmid: number, name: string, options: GuestOperationOptions & { start?: boolean } = {}): Promise<GuestTaskResult> {
    return rollbackGuest(this.#ops, vmid, name, options);
  }

  /**
   * Deletes snapshot `name` from every volume and the config; children are re-parented. With
   * `force`, the section goes even when its volume snapshots cannot be deleted (warnings).
   */
  deleteSnapshot(vmid: number, name: string, options: DeleteSnapshotOptions = {}): Promise<GuestTaskResult> {
    return deleteGuestSnapshot(this.#ops, vmid, name, options);
  }

  // ------------------------------------------------------------------ templates and clones

  /** Converts a stopped guest into a template: every volume becomes a base (`base-...`). */
  template(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return templateGuest(this.#ops, vmid, options);
  }

  /**
   * Clones a guest to `newid`. Linked (default for templates): copy-on-write clones of the
   * template's bases. Full (`full: true`, default for non-templates): copies of every volume
   * to `storage` (default: each volume's own storage), through export/import streams when the
   * storages differ; `storage` on a linked clone is refused (`InvalidArgumentError`). The
   * source's lock is held shared meanwhile (its `destroy` waits). An unprivileged caller may
   * not clone root-equivalent keys or another guest's volumes (`PermissionError`). A failed
   * clone frees what it made and leaves no config.
   */
  clone(vmid: number, options: CloneGuestOptions = {}): Promise<GuestTaskResult & { newid: number }> {
    return cloneGuest(this.#ops, vmid, options);
  }

  // ------------------------------------------------------------------ internals

  async #runtimeOp(
    vmid: number,
    op: GuestTaskOp & ('stop' | 'shutdown' | 'reboot' | 'reset' | 'suspend' | 'resume'),
    options: GuestOperationOptions,
    allowed: readonly string[],
    fn: (driver: HypervisorDriver, ctx: GuestContext, g: StoredGuestConfig, task: TaskHandle) => Promise<void>,
  ): Promise<GuestTaskResult> {
    const ops = this.#ops;
    return ops.guestTask(op, vmid, options, async (g, { task, signal }) => {
      const driver = ops.driver(g.type);
      await ops.requireState(driver, g, allowed, op);
      await fn(driver, await ops.context(vmid, g.type, { log: task.logger, signal }), g, task);
    });
  }
}

function toView(g: StoredGuestConfig): GuestConfigView {
  return {
    vmid: g.vmid,
    type: g.type,
    digest: g.digest,
    config: { ...g.doc.current },
    pending: { ...g.doc.pending },
    pendingDelete: [...g.doc.pendingDelete],
    snapshots: g.doc.snapshots.map((s) => ({
      name: s.name,
      parent: s.entries.parent,
      snaptime: s.entries.snaptime ? Number(s.entries.snaptime) : undefined,
      description: s.entries.description,
      vmstate: s.entries.vmstate !== undefined,
      snapstate: s.entries.snapstate,
    })),
  };
}

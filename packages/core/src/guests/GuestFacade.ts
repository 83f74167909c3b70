import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigStore } from '../config/ConfigStore.js';
import type {
  ConsoleEndpoint,
  GuestConfigEntries,
  GuestContext,
  GuestExecResult,
  GuestRuntimeStatus,
  GuestStorageAccess,
  GuestType,
  HypervisorDriver,
} from '../contracts/hypervisor.js';
import {
  AlreadyExistsError,
  DigestMismatchError,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidStateError,
  NotFoundError,
  NotSupportedError,
  ProtectedError,
  UnavailableError,
} from '../errors.js';
import type { CorralError } from '../errors.js';
import type { EventBus } from '../events/EventBus.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { LockManager } from '../locks/LockManager.js';
import { checkNotLocked, guestLockName } from '../locks/guestLock.js';
import type { StorageFacade } from '../storage/StorageFacade.js';
import { checkSnapshotName } from '../storage/StorageFacade.js';
import type { TaskHandle, TaskManager } from '../tasks/TaskManager.js';
import type { Logger } from '../util/Logger.js';
import { Reverter, withReverter } from '../util/Reverter.js';
import { reserveVmid } from './allocateVmid.js';
import { checkVmid, GuestConfigRepository, type StoredGuestConfig } from './GuestConfigRepository.js';
import { emptyGuestDocument } from './GuestDocument.js';
import { parseLxcNet, printLxcNet } from '../formats/schema/lxcNet.js';
import { parseQemuNet, printQemuNet } from '../formats/schema/qemuNet.js';

/** Options every guest operation accepts. */
export interface GuestOperationOptions {
  /** Cancels the operation (the task ends with status `aborted`). */
  readonly signal?: AbortSignal;
  /** User recorded in the UPID (default `root@pam`). */
  readonly user?: string;
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
   * Set when the guest's config file cannot be parsed (a coded error, usually a `ParseError`
   * naming the file and line): the guest is listed with `status: 'unknown'` and no name, and
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
  readonly snapshots: ReadonlyArray<{ name: string; parent?: string; snaptime?: number; description?: string; vmstate: boolean }>;
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
}

const DEFAULT_USER = 'root@pam';
/** Keys a snapshot section adds to the config copy. */
const SNAPSHOT_META_KEYS = ['snaptime', 'vmstate', 'snapstate', 'runningmachine', 'runningcpu'];

/**
 * `kernel.guests`: every guest operation, for both guest types.
 *
 * Each mutating operation is a task (UPID, log, cancellation) run under the guest lock
 * (`guest:<vmid>`, waiters time out with `LockTimeoutError`); long operations also set the
 * persistent `lock:` key so a crash leaves a visible lock that {@link unlock} clears. Configs
 * are validated by the guest type's driver before anything happens (`InvalidConfigError`
 * naming the key); failed operations undo what they did (volumes freed, config restored).
 */
export class GuestFacade {
  readonly #repo: GuestConfigRepository;

  constructor(private readonly deps: GuestFacadeDeps) {
    this.#repo = new GuestConfigRepository(deps.store, deps.node);
  }

  // ------------------------------------------------------------------ reads

  /** Every guest of the node with its runtime state, sorted by vmid. */
  async list(filter: { type?: GuestType } = {}): Promise<GuestListEntry[]> {
    const all = (await this.#repo.summaries()).filter((g) => !filter.type || g.type === filter.type);
    // A guest without a run directory is stopped (drivers keep their run state there): one
    // readdir per type instead of one status probe per stopped guest.
    const withRunDir = new Map<GuestType, Set<string>>();
    for (const type of new Set(all.map((g) => g.type))) {
      withRunDir.set(type, new Set(await readdir(join(this.deps.runDir, type)).catch(() => [] as string[])));
    }
    return Promise.all(
      all.map(async (g): Promise<GuestListEntry> => {
        if (g.error) return { vmid: g.vmid, type: g.type, status: 'unknown', template: false, error: g.error };
        const cur = g.current;
        const driver = this.deps.hypervisors().get(g.type);
        let status: GuestRuntimeStatus = { state: 'stopped' };
        if (driver && withRunDir.get(g.type)!.has(String(g.vmid))) {
          status = await driver.status(await this.#context(g.vmid, g.type, undefined, false), cur);
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
    return toView(await this.#repo.get(vmid));
  }

  /** Runtime status. Throws `NotFoundError`, `UnavailableError` when no driver handles the type. */
  async status(vmid: number): Promise<GuestRuntimeStatus & { vmid: number; type: GuestType }> {
    const g = await this.#repo.get(vmid);
    const driver = this.#driver(g.type);
    return { vmid, type: g.type, ...(await driver.status(await this.#context(vmid, g.type), g.doc.current)) };
  }

  /** The command line `start` would run (`qm showcmd`). */
  async showCommand(vmid: number): Promise<readonly string[]> {
    const g = await this.#repo.get(vmid);
    const driver = this.#driver(g.type);
    if (!driver.showCommand) throw new NotSupportedError('showcmd', `guest type '${g.type}' has no command line`);
    return driver.showCommand(await this.#context(vmid, g.type), g.doc.current);
  }

  /** Opens a console (VNC/serial socket for VMs, a console stream for containers). */
  async console(vmid: number, kind: 'vnc' | 'serial' | 'console'): Promise<ConsoleEndpoint> {
    const g = await this.#repo.get(vmid);
    const driver = this.#driver(g.type);
    await this.#requireState(driver, g, ['running', 'paused', 'frozen']);
    return driver.openConsole(await this.#context(vmid, g.type), g.doc.current, kind);
  }

  /** Runs a command inside a running guest (container exec, or the VM's guest agent). */
  async exec(vmid: number, argv: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<GuestExecResult> {
    if (argv.length === 0) throw new InvalidArgumentError('argv', 'empty command');
    const g = await this.#repo.get(vmid);
    const driver = this.#driver(g.type);
    if (!driver.exec) throw new NotSupportedError('exec', `guest type '${g.type}' cannot run commands inside`);
    await this.#requireState(driver, g, ['running']);
    return driver.exec(await this.#context(vmid, g.type), g.doc.current, argv, options);
  }

  // ------------------------------------------------------------------ create / destroy

  /**
   * Creates a guest: validates the config, allocates `storeid:SIZE` volumes through the
   * storage facade, writes `<vmid>.conf`. `vmid` defaults to the next free id from 100. A
   * failure frees every volume it allocated and leaves no config.
   */
  async create(
    type: GuestType,
    config: Readonly<Record<string, string | number | boolean>>,
    options: GuestOperationOptions & { vmid?: number; start?: boolean } = {},
  ): Promise<GuestTaskResult> {
    const driver = this.#driver(type);
    const entries = stringify(config);
    // Create-time parameters (`ostemplate`, `password`...) go to the driver, never to the config.
    const parameters: Record<string, string> = {};
    for (const k of driver.createParameters ?? []) {
      if (k in entries) {
        parameters[k] = entries[k]!;
        delete entries[k];
      }
    }
    if (entries.lock !== undefined) throw new InvalidConfigError('lock', entries.lock, "'lock' cannot be set on create");
    driver.validate(withoutNewVolumes(driver, entries));
    if (options.vmid !== undefined) checkVmid(options.vmid);
    // Reserving writes a `lock: create` placeholder config: the id is ours, atomically.
    const reservation = await reserveVmid(this.deps.store, { node: this.deps.node, type, vmid: options.vmid });
    const vmid = reservation.vmid;
    const result = await this.#task(type === 'qemu' ? 'qmcreate' : 'vzcreate', vmid, options, async (task) => {
      return this.deps.locks.withLock(
        guestLockName(vmid),
        async () => {
          await withReverter(async (revert) => {
            revert.add(() => this.#repo.delete(type, vmid), 'delete config');
            const doc = emptyGuestDocument(type);
            const requests = driver.volumeRequests(entries);
            const final = { ...entries };
            for (const [i, req] of requests.entries()) {
              task.progress(i / Math.max(1, requests.length));
              const volid = await this.deps.storage.allocate({
                storage: req.storage,
                vmid,
                sizeBytes: req.sizeBytes,
                content: req.content,
                format: req.format,
                signal: task.signal,
              });
              revert.add(() => this.deps.storage.free(volid), `free ${volid}`);
              task.log(`allocated ${volid} for ${req.key}`);
              final[req.key] = driver.replaceVolume(req.key, final[req.key]!, volid, req.sizeBytes);
            }
            driver.validate(final);
            if (driver.populateVolumes) {
              const added = await driver.populateVolumes(await this.#context(vmid, type, task), final, { parameters });
              if (added) {
                Object.assign(final, added);
                driver.validate(final);
              }
            }
            doc.current = final;
            await this.#repo.write(type, vmid, doc, reservation.digest);
          });
          this.deps.events.emit('guest:config', { vmid, type });
          task.log(`created ${type} guest ${vmid}`);
        },
        { timeoutMs: options.lockTimeoutMs, signal: task.signal },
      );
    }).catch((err: unknown) => this.#dropPlaceholder(type, vmid, err));
    if (options.start) await this.start(vmid, options);
    return result;
  }

  /**
   * Destroys a stopped guest: frees its volumes (unless `keepVolumes`), deletes its config.
   * Refuses a running guest (`InvalidStateError`) and `protection: 1` (`ProtectedError`).
   */
  async destroy(vmid: number, options: GuestOperationOptions & { keepVolumes?: boolean } = {}): Promise<GuestTaskResult> {
    const g0 = await this.#repo.get(vmid);
    return this.#task(g0.type === 'qemu' ? 'qmdestroy' : 'vzdestroy', vmid, options, (task) =>
      this.#locked(vmid, options, task, async (g) => {
        const driver = this.#driver(g.type);
        checkNotLocked(g.doc.current, vmid);
        if (g.doc.current.protection === '1') throw new ProtectedError('guest', String(vmid));
        await this.#requireState(driver, g, ['stopped']);
        const volids = new Set<string>();
        if (!options.keepVolumes) {
          for (const entries of [g.doc.current, g.doc.pending, ...g.doc.snapshots.map((s) => s.entries)]) {
            for (const v of driver.volumes(entries)) if (!v.isCdrom && !v.isExternal && ownedBy(v.volid, vmid)) volids.add(v.volid);
          }
        }
        // Config first (with the digest), then volumes: a crash leaves orphan volumes, never a config pointing at nothing.
        await this.#repo.delete(g.type, vmid, g.digest);
        for (const volid of volids) {
          try {
            await this.deps.storage.free(volid);
            task.log(`freed ${volid}`);
          } catch (err) {
            if ((err as { code?: string }).code === 'CORRAL_ERR_NOT_FOUND') continue;
            task.log(`could not free ${volid}: ${(err as Error).message}`);
          }
        }
        // The guest is stopped: its run directory (sockets, generated configs) goes with it.
        await rm(join(this.deps.runDir, g.type, String(vmid)), { recursive: true, force: true });
        this.deps.events.emit('guest:state', { vmid, type: g.type, state: 'destroyed' });
      }),
    );
  }

  // ------------------------------------------------------------------ config changes

  /**
   * Changes config keys (`set`) and removes others (`delete`). On a stopped guest the change is
   * written at once; on a running one the driver applies what it can live (hotplug, limits)
   * and the rest goes to `[PENDING]`, applied at the next start. `digest` makes it a
   * compare-and-set (`DigestMismatchError`).
   */
  async update(
    vmid: number,
    change: { set?: Readonly<Record<string, string | number | boolean>>; delete?: readonly string[]; digest?: string },
    options: GuestOperationOptions = {},
  ): Promise<GuestTaskResult & { applied: readonly string[]; pending: readonly string[] }> {
    const set = stringify(change.set ?? {});
    const del = [...(change.delete ?? [])];
    for (const k of ['lock', 'parent', 'snaptime', 'vmstate', 'digest']) {
      if (k in set || del.includes(k)) throw new InvalidConfigError(k, set[k], `'${k}' cannot be changed directly`);
    }
    let applied: readonly string[] = [];
    let pending: readonly string[] = [];
    const g0 = await this.#repo.get(vmid);
    const result = await this.#task(g0.type === 'qemu' ? 'qmconfig' : 'vzconfig', vmid, options, (task) =>
      this.#locked(vmid, options, task, async (g) => {
        if (change.digest && change.digest !== g.digest) throw new DigestMismatchError(g.path, change.digest, g.digest);
        checkNotLocked(g.doc.current, vmid);
        const driver = this.#driver(g.type);
        const before: GuestConfigEntries = { ...g.doc.current };
        const after: Record<string, string> = { ...g.doc.current, ...set };
        for (const k of del) delete after[k];
        const requests = driver.volumeRequests(after);
        await withReverter(async (revert) => {
          for (const req of requests) {
            const volid = await this.deps.storage.allocate({ storage: req.storage, vmid, sizeBytes: req.sizeBytes, content: req.content, format: req.format });
            revert.add(() => this.deps.storage.free(volid), `free ${volid}`);
            after[req.key] = driver.replaceVolume(req.key, after[req.key]!, volid, req.sizeBytes);
            set[req.key] = after[req.key]!;
          }
          driver.validate(after);
          const status = await driver.status(await this.#context(vmid, g.type, task), g.doc.current);
          const changed = [...Object.keys(set), ...del];
          if (status.state === 'stopped') {
            g.doc.current = after;
            g.doc.pending = {};
            g.doc.pendingDelete = [];
            applied = changed;
          } else {
            const res = await driver.applyChanges(await this.#context(vmid, g.type, task), g.doc.current, after, changed);
            applied = res.applied;
            pending = res.pending;
            const live: Record<string, string> = { ...g.doc.current };
            for (const k of res.applied) {
              if (k in after) live[k] = after[k]!;
              else delete live[k];
            }
            g.doc.current = live;
            for (const k of res.pending) {
              if (k in after) {
                g.doc.pending[k] = after[k]!;
                g.doc.pendingDelete = g.doc.pendingDelete.filter((x) => x !== k);
              } else {
                delete g.doc.pending[k];
                if (!g.doc.pendingDelete.includes(k)) g.doc.pendingDelete.push(k);
              }
            }
          }
          g.doc.current = keepDetachedVolumes(driver, before, g.doc.current);
          const freed = volumesToFree(driver, g, del, before);
          await this.#repo.write(g.type, vmid, g.doc, g.digest);
          for (const volid of freed) {
            await this.deps.storage.free(volid);
            task.log(`freed ${volid}`);
          }
        });
        if (pending.length > 0) task.log(`pending until next start: ${pending.join(', ')}`);
        this.deps.events.emit('guest:config', { vmid, type: g.type });
      }),
    );
    return { ...result, applied, pending };
  }

  /** Clears the persistent `lock:` key (`qm unlock`). */
  async unlock(vmid: number, options: GuestOperationOptions = {}): Promise<void> {
    await this.deps.locks.withLock(
      guestLockName(vmid),
      async () => {
        const g = await this.#repo.get(vmid);
        if (g.doc.current.lock === undefined) return;
        delete g.doc.current.lock;
        await this.#repo.write(g.type, vmid, g.doc, g.digest);
      },
      { timeoutMs: options.lockTimeoutMs },
    );
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts a stopped guest, applying `[PENDING]` first. `InvalidStateError` when it runs already. */
  async start(vmid: number, options: GuestOperationOptions & { timeoutMs?: number } = {}): Promise<GuestTaskResult> {
    const g0 = await this.#repo.get(vmid);
    return this.#task(g0.type === 'qemu' ? 'qmstart' : 'vzstart', vmid, options, (task) =>
      this.#locked(vmid, options, task, async (g) => {
        const driver = this.#driver(g.type);
        if (g.doc.current.template === '1') throw new InvalidStateError('template', `guest ${vmid} is a template and cannot be started`);
        checkNotLocked(g.doc.current, vmid, { allow: ['suspended'] });
        await this.#requireState(driver, g, ['stopped'], 'start');
        if (Object.keys(g.doc.pending).length > 0 || g.doc.pendingDelete.length > 0) {
          const next = { ...g.doc.current, ...g.doc.pending };
          for (const k of g.doc.pendingDelete) delete next[k];
          driver.validate(next);
          g.doc.current = keepDetachedVolumes(driver, g.doc.current, next);
          g.doc.pending = {};
          g.doc.pendingDelete = [];
          g = { ...g, digest: await this.#repo.write(g.type, vmid, g.doc, g.digest) };
          task.log('applied pending changes');
        }
        await driver.start(await this.#context(vmid, g.type, task), g.doc.current, { timeoutMs: options.timeoutMs });
        this.deps.events.emit('guest:state', { vmid, type: g.type, state: 'running' });
      }),
    );
  }

  /** Hard stop. `InvalidStateError` when the guest is not running. */
  async stop(vmid: number, options: GuestOperationOptions & { timeoutMs?: number } = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'stop', options, ['running', 'paused', 'frozen'], async (driver, ctx, g) => {
      await driver.stop(ctx, g.doc.current, { timeoutMs: options.timeoutMs });
      this.deps.events.emit('guest:state', { vmid, type: g.type, state: 'stopped' });
    });
  }

  /**
   * Clean shutdown (ACPI or guest agent for VMs, init signal for containers), waiting
   * `timeoutMs` (default 60 s). On timeout: `TimeoutError`, unless `forceStop` (then a hard stop).
   */
  async shutdown(vmid: number, options: GuestOperationOptions & { timeoutMs?: number; forceStop?: boolean } = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'shutdown', options, ['running', 'paused', 'frozen'], async (driver, ctx, g, task) => {
      try {
        await driver.shutdown(ctx, g.doc.current, { timeoutMs: options.timeoutMs ?? 60_000 });
      } catch (err) {
        if (!options.forceStop || (err as { code?: string }).code !== 'CORRAL_ERR_TIMEOUT') throw err;
        task.log('shutdown timed out: stopping');
        await driver.stop(ctx, g.doc.current, {});
      }
      this.deps.events.emit('guest:state', { vmid, type: g.type, state: 'stopped' });
    });
  }

  /** Clean reboot. */
  async reboot(vmid: number, options: GuestOperationOptions & { timeoutMs?: number } = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'reboot', options, ['running'], (driver, ctx, g) =>
      driver.reboot(ctx, g.doc.current, { timeoutMs: options.timeoutMs ?? 60_000 }),
    );
  }

  /** Hard reset (VMs; `qm reset`). `NotSupportedError` for guest types without one. */
  async reset(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'reset', options, ['running', 'paused'], async (driver, ctx, g) => {
      if (!driver.reset) throw new NotSupportedError('reset', `guest type '${g.type}' cannot be reset`);
      await driver.reset(ctx, g.doc.current);
    });
  }

  /** Pauses a VM / freezes a container. */
  async suspend(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'suspend', options, ['running'], async (driver, ctx, g) => {
      await driver.suspend(ctx, g.doc.current);
      this.deps.events.emit('guest:state', { vmid, type: g.type, state: g.type === 'lxc' ? 'frozen' : 'paused' });
    });
  }

  /** Resumes a paused VM / unfreezes a container. */
  async resume(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    return this.#runtimeOp(vmid, 'resume', options, ['paused', 'frozen'], async (driver, ctx, g) => {
      await driver.resume(ctx, g.doc.current);
      this.deps.events.emit('guest:state', { vmid, type: g.type, state: 'running' });
    });
  }

  // ------------------------------------------------------------------ snapshots

  /**
   * Takes snapshot `name` of every volume (with RAM state when `withState` and the guest
   * runs), recorded as a `[name]` section with `snaptime` and `parent` like Proxmox.
   */
  async snapshot(
    vmid: number,
    name: string,
    options: GuestOperationOptions & { withState?: boolean; description?: string } = {},
  ): Promise<GuestTaskResult> {
    checkSnapshotName(name);
    if (name === 'current' || name === 'PENDING') throw new InvalidArgumentError('snapshot', `'${name}' is a reserved name`);
    const g0 = await this.#repo.get(vmid);
    return this.#task(g0.type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot', vmid, options, (task) =>
      this.#withPersistentLock(vmid, 'snapshot', options, task, async (g) => {
        if (g.doc.snapshots.some((s) => s.name === name)) throw new AlreadyExistsError('snapshot', name, `guest ${vmid} already has a snapshot '${name}'`);
        const driver = this.#driver(g.type);
        const ctx = await this.#context(vmid, g.type, task);
        const running = (await driver.status(ctx, g.doc.current)).state !== 'stopped';
        if (options.withState && !driver.info.snapshotWithState) throw new NotSupportedError('snapshot with state', `guest type '${g.type}' cannot keep RAM state`);
        // Every volume must support snapshots before anything is taken.
        for (const v of driver.volumes(g.doc.current)) {
          if (v.isCdrom || v.isExternal) continue;
          if (!(await this.deps.storage.hasFeature(v.volid, 'snapshot'))) {
            throw new NotSupportedError('snapshot', `volume ${v.volid} (${v.key}) is on a storage that cannot snapshot it`);
          }
        }
        const revert = new Reverter();
        try {
          const { vmstate } = await driver.snapshotCreate(ctx, g.doc.current, { name, withState: !!options.withState && running, running, revert });
          const entries: Record<string, string> = { ...g.doc.current };
          delete entries.lock;
          if (options.description !== undefined) entries.description = options.description;
          else delete entries.description;
          entries.snaptime = String(Math.floor(Date.now() / 1000));
          if (vmstate) entries.vmstate = vmstate;
          g.doc.snapshots.push({ name, entries });
          g.doc.current.parent = name;
          await this.#repo.write(g.type, vmid, g.doc, g.digest);
          revert.success();
        } catch (err) {
          await revert.fail();
          throw err;
        }
        task.log(`snapshot '${name}' created`);
      }),
    );
  }

  /** Snapshots of a guest, oldest first. */
  async listSnapshots(vmid: number): Promise<GuestConfigView['snapshots']> {
    return (await this.config(vmid)).snapshots;
  }

  /**
   * Rolls the guest back to snapshot `name`: stops it if running, restores every volume and
   * the config. A snapshot with RAM state is resumed (the guest runs again, as Proxmox does).
   */
  async rollback(vmid: number, name: string, options: GuestOperationOptions & { start?: boolean } = {}): Promise<GuestTaskResult> {
    const g0 = await this.#repo.get(vmid);
    return this.#task(g0.type === 'qemu' ? 'qmrollback' : 'vzrollback', vmid, options, (task) =>
      this.#withPersistentLock(vmid, 'rollback', options, task, async (g) => {
        const snap = g.doc.snapshots.find((s) => s.name === name);
        if (!snap) throw new NotFoundError('snapshot', name, `guest ${vmid} has no snapshot '${name}'`);
        const driver = this.#driver(g.type);
        const ctx = await this.#context(vmid, g.type, task);
        if ((await driver.status(ctx, g.doc.current)).state !== 'stopped') {
          task.log('stopping guest for rollback');
          await driver.stop(ctx, g.doc.current, {});
        }
        await driver.snapshotRollback(ctx, snap.entries, { name });
        const restored: Record<string, string> = {};
        for (const [k, v] of Object.entries(snap.entries)) if (!SNAPSHOT_META_KEYS.includes(k) && k !== 'parent') restored[k] = v;
        restored.parent = name;
        restored.lock = 'rollback';
        if (g.doc.current.description !== undefined && snap.entries.description === undefined) delete restored.description;
        g.doc.current = restored;
        g.doc.pending = {};
        g.doc.pendingDelete = [];
        await this.#repo.write(g.type, vmid, g.doc, g.digest);
        const vmstate = snap.entries.vmstate;
        if (vmstate || options.start) {
          const cur = { ...restored };
          delete cur.lock;
          await driver.start(ctx, cur, { stateVolid: vmstate });
          task.log(vmstate ? 'resumed from snapshot RAM state' : 'started');
        }
        task.log(`rolled back to '${name}'`);
      }),
    );
  }

  /** Deletes snapshot `name` from every volume and the config; children are re-parented. */
  async deleteSnapshot(vmid: number, name: string, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    const g0 = await this.#repo.get(vmid);
    return this.#task(g0.type === 'qemu' ? 'qmdelsnapshot' : 'vzdelsnapshot', vmid, options, (task) =>
      this.#withPersistentLock(vmid, 'snapshot-delete', options, task, async (g) => {
        const index = g.doc.snapshots.findIndex((s) => s.name === name);
        if (index < 0) throw new NotFoundError('snapshot', name, `guest ${vmid} has no snapshot '${name}'`);
        const snap = g.doc.snapshots[index]!;
        const driver = this.#driver(g.type);
        const ctx = await this.#context(vmid, g.type, task);
        const running = (await driver.status(ctx, g.doc.current)).state !== 'stopped';
        await driver.snapshotDelete(ctx, snap.entries, { name, running });
        const parent = snap.entries.parent;
        for (const other of g.doc.snapshots) {
          if (other.entries.parent === name) {
            if (parent) other.entries.parent = parent;
            else delete other.entries.parent;
          }
        }
        if (g.doc.current.parent === name) {
          if (parent) g.doc.current.parent = parent;
          else delete g.doc.current.parent;
        }
        g.doc.snapshots.splice(index, 1);
        await this.#repo.write(g.type, vmid, g.doc, g.digest);
        task.log(`snapshot '${name}' deleted`);
      }),
    );
  }

  // ------------------------------------------------------------------ templates and clones

  /** Converts a stopped guest into a template: every volume becomes a base (`base-...`). */
  async template(vmid: number, options: GuestOperationOptions = {}): Promise<GuestTaskResult> {
    const g0 = await this.#repo.get(vmid);
    return this.#task(g0.type === 'qemu' ? 'qmtemplate' : 'vztemplate', vmid, options, (task) =>
      this.#locked(vmid, options, task, async (g) => {
        const driver = this.#driver(g.type);
        checkNotLocked(g.doc.current, vmid);
        if (g.doc.current.template === '1') throw new InvalidStateError('template', `guest ${vmid} is a template already`);
        if (g.doc.snapshots.length > 0) throw new InvalidStateError('snapshots', `guest ${vmid} has snapshots: delete them before converting to a template`);
        await this.#requireState(driver, g, ['stopped']);
        const next: Record<string, string> = { ...g.doc.current };
        for (const v of driver.volumes(g.doc.current)) {
          if (v.isCdrom || v.isExternal) continue;
          const base = await this.deps.storage.createBase(v.volid);
          task.log(`${v.key}: ${v.volid} -> ${base}`);
          next[v.key] = driver.replaceVolume(v.key, next[v.key]!, base);
        }
        next.template = '1';
        g.doc.current = next;
        await this.#repo.write(g.type, vmid, g.doc, g.digest);
      }),
    );
  }

  /**
   * Clones a guest to `newid`. Linked (default for templates): copy-on-write clones of the
   * template's bases. Full (`full: true`, default for non-templates): copies of every volume
   * to `storage` (default: each volume's own storage), through export/import streams when the
   * storages differ. A failed clone frees what it made and leaves no config.
   */
  async clone(
    vmid: number,
    options: GuestOperationOptions & { newid?: number; name?: string; full?: boolean; storage?: string; snapshot?: string } = {},
  ): Promise<GuestTaskResult & { newid: number }> {
    const g0 = await this.#repo.get(vmid);
    const driver = this.#driver(g0.type);
    const isTemplate = g0.doc.current.template === '1';
    const full = options.full ?? !isTemplate;
    if (!full && !isTemplate && !options.snapshot) {
      throw new InvalidArgumentError('full', `a linked clone needs a template (guest ${vmid} is not one) or a snapshot`);
    }
    if (options.newid !== undefined) checkVmid(options.newid);
    const reservation = await reserveVmid(this.deps.store, { node: this.deps.node, type: g0.type, vmid: options.newid });
    const newid = reservation.vmid;
    const result = await this.#task(g0.type === 'qemu' ? 'qmclone' : 'vzclone', vmid, options, (task) =>
      this.deps.locks.withLock(
        guestLockName(newid),
        async () => {
          const src = await this.#repo.get(vmid);
          checkNotLocked(src.doc.current, vmid);
          let source: Record<string, string> = { ...src.doc.current };
          if (options.snapshot) {
            const snap = src.doc.snapshots.find((s) => s.name === options.snapshot);
            if (!snap) throw new NotFoundError('snapshot', options.snapshot);
            source = { ...snap.entries };
            for (const k of SNAPSHOT_META_KEYS) delete source[k];
          }
          await withReverter(async (revert) => {
            const doc = emptyGuestDocument(src.type);
            const next: Record<string, string> = {};
            for (const [k, v] of Object.entries(source)) if (!['parent', 'template', 'lock'].includes(k)) next[k] = v;
            if (options.name) next[src.type === 'lxc' ? 'hostname' : 'name'] = options.name;
            revert.add(() => this.#repo.delete(src.type, newid), 'delete clone config');
            doc.current = { ...next, lock: 'clone' };
            const digest = await this.#repo.write(src.type, newid, doc, reservation.digest);
            const vols = driver.volumes(source).filter((v) => !v.isCdrom && !v.isExternal);
            for (const [i, v] of vols.entries()) {
              task.progress(i / Math.max(1, vols.length));
              const target = options.storage ?? v.volid.slice(0, v.volid.indexOf(':'));
              const made = full
                ? await this.deps.storage.copy(v.volid, { targetStorage: target, vmid: newid, snapshot: options.snapshot, signal: task.signal })
                : await this.deps.storage.cloneLinked(v.volid, { vmid: newid, snapshot: options.snapshot, signal: task.signal });
              revert.add(() => this.deps.storage.free(made), `free ${made}`);
              task.log(`${v.key}: ${v.volid} -> ${made} (${full ? 'full copy' : 'linked clone'})`);
              next[v.key] = driver.replaceVolume(v.key, next[v.key]!, made);
            }
            for (const k of Object.keys(next)) if (/^net\d+$/.test(k)) next[k] = withFreshMac(src.type, k, next[k]!);
            doc.current = next;
            await this.#repo.write(src.type, newid, doc, digest);
          });
          task.log(`cloned ${vmid} to ${newid}`);
        },
        { timeoutMs: options.lockTimeoutMs, signal: task.signal },
      ),
    ).catch((err: unknown) => this.#dropPlaceholder(g0.type, newid, err));
    return { ...result, newid };
  }

  // ------------------------------------------------------------------ internals

  /** After a failed create/clone: removes the reservation placeholder if nothing replaced it, then rethrows. */
  async #dropPlaceholder(type: GuestType, vmid: number, err: unknown): Promise<never> {
    const left = await this.#repo.find(vmid).catch(() => null);
    if (left && left.doc.current.lock === 'create' && Object.keys(left.doc.current).length === 1) {
      await this.#repo.delete(type, vmid, left.digest).catch(() => undefined);
    }
    throw err;
  }

  #driver(type: GuestType): HypervisorDriver {
    const d = this.deps.hypervisors().get(type);
    if (!d) throw new UnavailableError(`hypervisor:${type}`, `no plugin provides guest type '${type}'`);
    return d;
  }

  async #context(vmid: number, type: GuestType, task?: TaskHandle, create = true): Promise<GuestContext> {
    const runDir = join(this.deps.runDir, type, String(vmid));
    if (create) await mkdir(runDir, { recursive: true });
    return {
      vmid,
      node: this.deps.node,
      runner: this.deps.runner,
      runDir,
      log: task?.logger ?? this.deps.logger,
      storage: this.#storageAccess(task?.signal),
      signal: task?.signal,
    };
  }

  #storageAccess(signal?: AbortSignal): GuestStorageAccess {
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

  async #requireState(driver: HypervisorDriver, g: StoredGuestConfig, allowed: readonly string[], op?: string): Promise<GuestRuntimeStatus> {
    const status = await driver.status(await this.#context(g.vmid, g.type), g.doc.current);
    if (!allowed.includes(status.state)) {
      const what = op ? `cannot ${op}` : 'wrong state';
      throw new InvalidStateError(status.state, `guest ${g.vmid} is ${status.state}: ${what} (needs ${allowed.join(' or ')})`);
    }
    return status;
  }

  #task<T>(type: string, vmid: number, options: GuestOperationOptions, fn: (task: TaskHandle) => Promise<T>): Promise<GuestTaskResult> {
    const handle = this.deps.tasks.run({ type, id: String(vmid), user: options.user ?? DEFAULT_USER, node: this.deps.node }, fn, { signal: options.signal });
    options.onTask?.(handle.upid);
    return handle.result.then(() => ({ upid: handle.upid, vmid }));
  }

  /** Runs `fn` under the guest lock with a fresh read of the config. */
  async #locked<T>(vmid: number, options: GuestOperationOptions, task: TaskHandle, fn: (g: StoredGuestConfig) => Promise<T>): Promise<T> {
    return this.deps.locks.withLock(guestLockName(vmid), async () => fn(await this.#repo.get(vmid)), {
      timeoutMs: options.lockTimeoutMs,
      signal: task.signal,
    });
  }

  async #runtimeOp(
    vmid: number,
    op: 'stop' | 'shutdown' | 'reboot' | 'reset' | 'suspend' | 'resume',
    options: GuestOperationOptions,
    allowed: readonly string[],
    fn: (driver: HypervisorDriver, ctx: GuestContext, g: StoredGuestConfig, task: TaskHandle) => Promise<void>,
  ): Promise<GuestTaskResult> {
    const g0 = await this.#repo.get(vmid);
    const prefix = g0.type === 'qemu' ? 'qm' : 'vz';
    return this.#task(`${prefix}${op}`, vmid, options, (task) =>
      this.#locked(vmid, options, task, async (g) => {
        const driver = this.#driver(g.type);
        await this.#requireState(driver, g, allowed, op);
        await fn(driver, await this.#context(vmid, g.type, task), g, task);
      }),
    );
  }

  /**
   * Long operation pattern (Proxmox's lock_config + `lock:` key): under the guest lock, check
   * and set `lock: <reason>`, run `fn` (which may write the config, reporting the new digest),
   * then clear the key. On failure the key is cleared too, the error rethrown.
   */
  async #withPersistentLock(
    vmid: number,
    reason: string,
    options: GuestOperationOptions,
    task: TaskHandle,
    fn: (g: StoredGuestConfig) => Promise<void>,
  ): Promise<void> {
    await this.#locked(vmid, options, task, async (g) => {
      checkNotLocked(g.doc.current, vmid);
      g.doc.current.lock = reason;
      const digest = await this.#repo.write(g.type, vmid, g.doc, g.digest);
      try {
        await fn({ ...g, digest });
      } finally {
        const fresh = await this.#repo.get(vmid);
        if (fresh.doc.current.lock === reason || fresh.doc.current.lock === 'rollback') {
          delete fresh.doc.current.lock;
          await this.#repo.write(fresh.type, vmid, fresh.doc, fresh.digest);
        }
      }
    });
  }
}

/**
 * Proxmox keeps a volume that a config change detaches (a deleted or replaced disk key) as
 * `unusedN`, so it is neither lost nor orphaned. Returns `after` with such volumes added.
 */
function keepDetachedVolumes(driver: HypervisorDriver, before: GuestConfigEntries, after: Record<string, string>): Record<string, string> {
  const still = new Set(driver.volumes(after).map((v) => v.volid));
  const out = { ...after };
  let n = 0;
  for (const v of driver.volumes(before)) {
    if (v.isCdrom || v.isExternal || /^unused\d+$/.test(v.key) || v.key === 'vmstate' || still.has(v.volid)) continue;
    while (`unused${n}` in out) n++;
    out[`unused${n}`] = v.volid;
    still.add(v.volid);
  }
  return out;
}

/** Volumes of deleted `unusedN` keys that no snapshot still references: freed after the config is written. */
function volumesToFree(driver: HypervisorDriver, g: StoredGuestConfig, deleted: readonly string[], before: GuestConfigEntries): string[] {
  const inSnapshots = new Set(g.doc.snapshots.flatMap((s) => driver.volumes(s.entries).map((v) => v.volid)));
  const inUse = new Set(driver.volumes(g.doc.current).map((v) => v.volid));
  return driver
    .volumes(before)
    .filter((v) => /^unused\d+$/.test(v.key) && deleted.includes(v.key) && !inSnapshots.has(v.volid) && !inUse.has(v.volid))
    .map((v) => v.volid);
}

function stringify(config: Readonly<Record<string, string | number | boolean>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
  }
  return out;
}

/** The config with `storeid:SIZE` requests replaced by a placeholder volume, for validation before allocation. */
function withoutNewVolumes(driver: HypervisorDriver, entries: Record<string, string>): Record<string, string> {
  const out = { ...entries };
  for (const req of driver.volumeRequests(entries)) out[req.key] = driver.replaceVolume(req.key, out[req.key]!, `${req.storage}:placeholder`, req.sizeBytes);
  return out;
}

function ownedBy(volid: string, vmid: number): boolean {
  const name = volid.slice(volid.indexOf(':') + 1);
  const m = /(?:^|\/)(?:vm|subvol|base|basevol)-(\d+)-/.exec(name.slice(name.lastIndexOf('/') + 1));
  return m ? Number(m[1]) === vmid : true;
}

/**
 * A clone's NIC gets a new MAC (Proxmox's OUI `BC:24:11` plus 3 random bytes), set through the
 * guest type's typed net format so every model and key spelling is handled.
 */
function withFreshMac(type: GuestType, key: string, value: string): string {
  const mac = ['BC', '24', '11', ...randomBytes(3).toString('hex').toUpperCase().match(/../g)!].join(':');
  if (type === 'qemu') return printQemuNet({ ...parseQemuNet(value, { key }), macaddr: mac }, { key });
  return printLxcNet({ ...parseLxcNet(value, { key }), hwaddr: mac }, { key });
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
    })),
  };
}

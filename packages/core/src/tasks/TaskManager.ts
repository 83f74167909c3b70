import * as fs from 'node:fs';
import { join } from 'node:path';
import { AbortedError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { EventBus } from '../events/EventBus.js';
import type { TaskEndStatus } from '../events/CorralEvents.js';
import { silentLogger, type Logger } from '../util/Logger.js';
import { TaskLogDir, UNEXPECTED_STATUS, type TaskLogLine } from './TaskLogDir.js';
import { encodeUpid, parseUpid, processStartTicks, type UpidFields } from './Upid.js';

export type { TaskLogLine } from './TaskLogDir.js';

/** What a task is: the fields of its UPID. */
export interface TaskSpec {
  /** Task type, Proxmox's when one exists (`qmstart`, `vzcreate`, `qmclone`...). */
  readonly type: string;
  /** Object id (vmid, storage id); default `''`. */
  readonly id?: string;
  /** User on whose behalf it runs: a Proxmox user id (`root@pam`) or API token (`root@pam!ci`), see `checkUserid`. */
  readonly user: string;
  /** Node it runs on; default the manager's node. */
  readonly node?: string;
}

/** Options of {@link TaskManager.run}. */
export interface TaskRunOptions {
  /** Aborting it cancels the task (as {@link RunningTask.abort}). */
  readonly signal?: AbortSignal;
}

/** What a task function gets. */
export interface TaskHandle {
  readonly upid: string;
  /** Aborted when the task is cancelled; pass it to every wait and command. */
  readonly signal: AbortSignal;
  /**
   * Logger writing into the task log: `info` as is, `warn` as `WARN: ...` (counted: the
   * task ends `WARNINGS: <n>`), `error` as `ERROR: ...`; `debug` is dropped unless the
   * manager was created with `logDebug`. `data` is appended as JSON.
   */
  readonly logger: Logger;
  /** Appends a line (several when it contains newlines) to the task log, written at once. */
  log(line: string): void;
  /**
   * Reports progress, a fraction from 0 to 1 (`task:progress` event, {@link TaskInfo.progress}).
   * @throws InvalidArgumentError outside 0..1.
   */
  progress(fraction: number): void;
  /** Throws the abort reason (an `AbortedError`) when the task was cancelled. */
  throwIfAborted(): void;
}

/** A started task. */
export interface RunningTask<T> {
  readonly upid: string;
  /**
   * Settles with the function's outcome after the final status is persisted and `task:end`
   * emitted. Never reported as an unhandled rejection when nobody awaits it.
   */
  readonly result: Promise<T>;
  /** Cancels the task: aborts its signal (with `AbortedError` unless `reason` is given). */
  abort(reason?: unknown): void;
}

/** Task state: `running`, or the final `ok` / `error`. */
export type TaskStatus = 'running' | TaskEndStatus;

/** A task as listed. Times in seconds since the epoch. */
export interface TaskInfo extends UpidFields {
  readonly upid: string;
  readonly status: TaskStatus;
  /** Proxmox's exit status once ended: `OK`, `WARNINGS: <n>`, `aborted`, the error message, or `unexpected status` (its process died). */
  readonly exitstatus?: string;
  readonly endtime?: number;
  /** Last reported progress (0..1), for tasks running in this manager. */
  readonly progress?: number;
}

/** Options of {@link TaskManager}. */
export interface TaskManagerOptions {
  /** The kernel's dataDir: tasks live under `<dataDir>/tasks/<node>/`. */
  readonly dataDir: string;
  /** This node's name (a hostname). */
  readonly node: string;
  /** Where `task:*` events go. */
  readonly events?: EventBus;
  /** Kernel logger for the manager's own problems (a log that cannot be written...). */
  readonly logger?: Logger;
  /** Persist `debug` lines of task loggers (default false). */
  readonly logDebug?: boolean;
}

/** Options of {@link TaskManager.list}. */
export interface TaskListOptions {
  /** Only running tasks (true) or only finished ones (false). */
  readonly running?: boolean;
  /** At most this many, newest first (default 50, as Proxmox's API). */
  readonly limit?: number;
  /** Only tasks of this node (default: this manager's node). */
  readonly node?: string;
  readonly type?: string;
  /** Only tasks on this object id (vmid...). */
  readonly id?: string;
  readonly user?: string;
  /** Only tasks that ended in error (Proxmox's `errors=1`). */
  readonly errors?: boolean;
}

/** Exit status of a cancelled task. */
export const TASK_ABORTED = 'aborted';

/** Status of a finished task from its exit status (as Proxmox's UI reads it). */
export function taskStatusOf(exitstatus: string): TaskEndStatus {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus) ? 'ok' : 'error';
}

interface LiveTask {
  info: TaskInfo;
  fd: number | null;
}

/**
 * Runs tasks: every mutating operation gets a UPID, a persisted log, progress, cancellation
 * through an AbortSignal, a final Proxmox-style exit status, and `task:*` events.
 *
 * Tasks run inside this process (no fork), so the UPID's pid/pstart are this process's and
 * a UPID is made unique by its starttime: a second task with the same node, type, id and
 * user in the same second takes the next free second.
 *
 * Persistence, laid out like Proxmox's /var/log/pve/tasks under `<dataDir>/tasks`: per node,
 * `<node>/<X>/<UPID>` holds a task's log (X = last hex digit of the starttime),
 * `<node>/index` one line per finished task, `<node>/active/<UPID>` a marker while the task
 * runs. Log lines are written as they come (one write each, no buffering), so
 * {@link readLog} of a running task and a manager in another process see them. A task whose process died while running is found by
 * its `active/` marker and closed as `unexpected status` by the next {@link list}/{@link get}.
 *
 * Events, in order: `task:start`, then `task:log`/`task:progress` as they happen, then
 * `task:end` once the final status is on disk.
 */
export class TaskManager {
  readonly node: string;
  readonly #files: TaskLogDir;
  readonly #events?: EventBus;
  readonly #logger: Logger;
  readonly #logDebug: boolean;
  readonly #live = new Map<string, LiveTask>();
  readonly #aborters = new Map<string, (reason?: unknown) => void>();
  readonly #pstart: number;

  constructor(options: TaskManagerOptions) {
    if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
      throw new InvalidArgumentError('dataDir', 'TaskManager needs a dataDir');
    }
    this.node = options.node;
    encodeUpid({ node: options.node, pid: 0, pstart: 0, starttime: 0, type: 'x', id: '', user: 'root@pam' }); // validates node
    this.#files = new TaskLogDir(join(options.dataDir, 'tasks'));
    this.#events = options.events;
    this.#logger = options.logger ?? silentLogger;
    this.#logDebug = options.logDebug ?? false;
    this.#pstart = processStartTicks() ?? 0;
  }

  /**
   * Starts `fn` as a task and returns at once with its UPID. `fn` runs on the next
   * microtask, after `task:start`. Its resolved value becomes `result` with exit status `OK`
   * (or `WARNINGS: n`); a rejection becomes exit status `aborted` when the task was
   * cancelled, else the error's message (first line).
   *
   * @throws InvalidArgumentError when type, id, user or node cannot go into a UPID (the user
   *   must be a Proxmox user id such as `root@pam`: `x/../../tmp/p` is refused before any file
   *   is touched).
   */
  run<T>(spec: TaskSpec, fn: (task: TaskHandle) => Promise<T> | T, options: TaskRunOptions = {}): RunningTask<T> {
    const node = spec.node ?? this.node;
    const base = { node, pid: process.pid, pstart: this.#pstart, type: spec.type, id: spec.id ?? '', user: spec.user };
    let starttime = Math.floor(Date.now() / 1000);
    let upid = encodeUpid({ ...base, starttime });
    let fd: number | null;
    for (;;) {
      fd = this.#files.createLog(upid);
      if (fd !== null) break;
      starttime++;
      upid = encodeUpid({ ...base, starttime });
    }
    this.#files.markActive(upid);

    const controller = new AbortController();
    const info: TaskInfo = { upid, ...base, starttime, status: 'running', progress: 0 };
    const live: LiveTask = { info, fd };
    this.#live.set(upid, live);
    let warnings = 0;

    const writeLine = (line: string): void => {
      if (live.fd === null) {
        this.#logger.debug('task log line after the task ended', { upid, line });
        return;
      }
      for (const l of line.split(/\r?\n/)) {
        try {
          fs.writeSync(live.fd, `${l}\n`);
        } catch (error) {
          this.#logger.error('cannot write task log', { upid, error: String(error) });
        }
        this.#events?.emit('task:log', { upid, line: l });
      }
    };
    const fmt = (message: string, data?: Record<string, unknown>): string =>
      data === undefined || Object.keys(data).length === 0 ? message : `${message} ${safeJson(data)}`;
    const logger: Logger = {
      debug: (m, d) => {
        if (this.#logDebug) writeLine(`DEBUG: ${fmt(m, d)}`);
      },
      info: (m, d) => writeLine(fmt(m, d)),
      warn: (m, d) => {
        warnings++;
        writeLine(`WARN: ${fmt(m, d)}`);
      },
      error: (m, d) => writeLine(`ERROR: ${fmt(m, d)}`),
    };
    const handle: TaskHandle = {
      upid,
      signal: controller.signal,
      logger,
      log: writeLine,
      progress: (fraction) => {
        if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
          throw new InvalidArgumentError('fraction', `task progress must be a number from 0 to 1, got ${String(fraction)}`);
        }
        if (live.fd === null) return;
        live.info = { ...live.info, progress: fraction };
        this.#events?.emit('task:progress', { upid, progress: fraction });
      },
      throwIfAborted: () => controller.signal.throwIfAborted(),
    };

    const abort = (reason?: unknown): void => {
      if (controller.signal.aborted || live.fd === null) return;
      writeLine('abort requested');
      controller.abort(reason ?? new AbortedError(`task ${upid} aborted`));
    };
    this.#aborters.set(upid, abort);
    const outer = options.signal;
    const onOuterAbort = (): void => abort(outer?.reason instanceof AbortedError ? outer.reason : new AbortedError(`task ${upid} aborted`, { cause: outer?.reason }));

    this.#events?.emit('task:start', { upid, node, type: base.type, id: base.id, user: base.user, starttime });

    const result = (async () => {
      await Promise.resolve();
      if (outer?.aborted) onOuterAbort();
      else outer?.addEventListener('abort', onOuterAbort, { once: true });
      let exitstatus: string;
      let outcome: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        const value = await fn(handle);
        outcome = { ok: true, value };
        exitstatus = warnings > 0 ? `WARNINGS: ${warnings}` : 'OK';
      } catch (error) {
        outcome = { ok: false, error };
        exitstatus = controller.signal.aborted ? TASK_ABORTED : errorText(error);
      } finally {
        outer?.removeEventListener('abort', onOuterAbort);
      }
      await this.#finish(live, exitstatus);
      if (outcome.ok) return outcome.value;
      throw outcome.error;
    })();
    result.catch(() => undefined);
    return { upid, result, abort };
  }

  /**
   * Tasks of a node, newest first: running ones (of this and other live processes) and
   * finished ones from the index. Closes tasks whose process died as `unexpected status`.
   */
  async list(options: TaskListOptions = {}): Promise<TaskInfo[]> {
    const node = options.node ?? this.node;
    const limit = options.limit ?? 50;
    if (!(limit >= 0)) throw new InvalidArgumentError('limit', `limit must be >= 0, got ${String(limit)}`);
    const byUpid = new Map<string, TaskInfo>();
    const index = this.#files.readIndex(node);
    for (const [upid, e] of index) {
      byUpid.set(upid, { upid, ...parseUpid(upid), status: taskStatusOf(e.exitstatus), exitstatus: e.exitstatus, endtime: e.endtime });
    }
    for (const upid of this.#files.activeUpids(node)) {
      if (byUpid.has(upid)) continue;
      const info = this.#activeInfo(upid);
      if (info) byUpid.set(upid, info);
    }
    for (const [upid, live] of this.#live) {
      if (live.info.node === node) byUpid.set(upid, live.info);
    }
    let out = [...byUpid.values()];
    out = out.filter(
      (t) =>
        (options.running === undefined || (t.status === 'running') === options.running) &&
        (options.type === undefined || t.type === options.type) &&
        (options.id === undefined || t.id === options.id) &&
        (options.user === undefined || t.user === options.user) &&
        (!options.errors || t.status === 'error'),
    );
    out.sort((a, b) => b.starttime - a.starttime || (a.upid < b.upid ? 1 : a.upid > b.upid ? -1 : 0));
    return out.slice(0, limit);
  }

  /**
   * One task's state.
   * @throws NotFoundError when no task has this UPID. InvalidArgumentError when it is not a UPID.
   */
  async get(upid: string): Promise<TaskInfo> {
    const fields = parseUpid(upid);
    const live = this.#live.get(upid);
    if (live) return live.info;
    const e = this.#files.readIndex(fields.node).get(upid);
    if (e) return { upid, ...fields, status: taskStatusOf(e.exitstatus), exitstatus: e.exitstatus, endtime: e.endtime };
    if (this.#files.activeUpids(fields.node).includes(upid)) {
      const info = this.#activeInfo(upid);
      if (info) return info;
    }
    const fromLog = this.#files.exitStatusFromLog(upid);
    if (fromLog !== null) return { upid, ...fields, status: taskStatusOf(fromLog), exitstatus: fromLog };
    if (fs.existsSync(this.#files.logPath(upid))) {
      // A log without marker, index line or final line: its writer died before finishing.
      return { upid, ...fields, status: 'error', exitstatus: UNEXPECTED_STATUS };
    }
    throw new NotFoundError('task', upid);
  }

  /**
   * Lines of a task's log (also while it runs): `start` is 0-based (default 0), `limit`
   * lines at most (default all). Line numbers `n` count from 1, as Proxmox's API.
   * @throws NotFoundError when the task has no log.
   */
  async readLog(upid: string, options: { start?: number; limit?: number } = {}): Promise<{ total: number; lines: TaskLogLine[] }> {
    parseUpid(upid);
    const start = options.start ?? 0;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (!Number.isSafeInteger(start) || start < 0) throw new InvalidArgumentError('start', `start must be an integer >= 0, got ${String(start)}`);
    if (!(limit >= 0)) throw new InvalidArgumentError('limit', `limit must be >= 0, got ${String(limit)}`);
    return this.#files.readLog(upid, start, limit);
  }

  /** Cancels a task running in this manager. Returns false when it is not running here. */
  abort(upid: string, reason?: unknown): boolean {
    const live = this.#live.get(upid);
    if (!live || live.fd === null) return false;
    this.#aborters.get(upid)?.(reason);
    return true;
  }

  /** Info of a task with an active marker and no index line; closes it when its process is gone. */
  #activeInfo(upid: string): TaskInfo | null {
    const fields = parseUpid(upid);
    const alive =
      (fields.pid === process.pid && fields.pstart === this.#pstart) || processStartTicks(fields.pid) === fields.pstart;
    if (alive) return { upid, ...fields, status: 'running' };
    const endtime = Math.floor(Date.now() / 1000);
    try {
      this.#files.appendIndex({ upid, endtime, exitstatus: UNEXPECTED_STATUS });
      this.#files.unmarkActive(upid);
    } catch (error) {
      this.#logger.warn('cannot close task of a dead process', { upid, error: String(error) });
    }
    return { upid, ...fields, status: 'error', exitstatus: UNEXPECTED_STATUS, endtime };
  }

  async #finish(live: LiveTask, exitstatus: string): Promise<void> {
    const { upid } = live.info;
    const endtime = Math.floor(Date.now() / 1000);
    const status = taskStatusOf(exitstatus);
    const fd = live.fd;
    live.fd = null; // later log lines are dropped
    if (fd !== null) {
      try {
        // Written, not fsynced (as Proxmox's task logs): a power loss may lose the last lines,
        // and the task then reads as `unexpected status`; an fdatasync here cost 8-50 ms per task.
        fs.writeSync(fd, exitstatus === 'OK' ? 'TASK OK\n' : status === 'ok' ? `TASK ${exitstatus}\n` : `TASK ERROR: ${exitstatus}\n`);
      } catch (error) {
        this.#logger.error('cannot finish task log', { upid, error: String(error) });
      }
      await new Promise<void>((resolve) => fs.close(fd, () => resolve()));
    }
    try {
      this.#files.appendIndex({ upid, endtime, exitstatus });
      this.#files.unmarkActive(upid);
    } catch (error) {
      this.#logger.error('cannot record task end', { upid, error: String(error) });
    }
    this.#live.delete(upid);
    this.#aborters.delete(upid);
    this.#events?.emit('task:end', { upid, status, exitstatus, endtime });
  }
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const first = text.split('\n').find((l) => l.trim() !== '')?.trim();
  return first || 'unknown error';
}

function safeJson(data: unknown): string {
  try {
    return JSON.stringify(data);
  } catch {
    return String(data);
  }
}

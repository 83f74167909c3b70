import { EventEmitter } from 'node:events';
import { DisposedError, InvalidArgumentError, NotFoundError, ProtocolError, TimeoutError, isCorralError, ErrorCodes } from '@corral/core';
import { JsonLineConnection, type JsonObject } from './JsonLineConnection.js';
import type { QmpEvent, QmpEventData, QmpGreeting, QmpJobInfo, QmpErrorData, QmpStatusInfo, QmpVersionInfo } from './QmpTypes.js';
import { waitFor, type WaitOptions } from './waitFor.js';

/** Default timeout of one QMP command: 60 s. */
export const DEFAULT_QMP_COMMAND_TIMEOUT_MS = 60_000;
/** Default timeout of connect + greeting + capabilities negotiation: 10 s. */
export const DEFAULT_QMP_CONNECT_TIMEOUT_MS = 10_000;

/** Options of a {@link QmpClient}. */
export interface QmpClientOptions {
  /** Timeout in ms of commands that name none. 0: no timeout. Default {@link DEFAULT_QMP_COMMAND_TIMEOUT_MS}. */
  commandTimeoutMs?: number;
  /** Longest accepted line from QEMU in bytes. */
  maxLineBytes?: number;
}

/** Options of {@link QmpClient.connect}: `timeoutMs` bounds connect, greeting and `qmp_capabilities` together. */
export interface QmpConnectOptions extends QmpClientOptions, WaitOptions {}

/** Options of one command. `timeoutMs` defaults to the client's `commandTimeoutMs`. */
export type QmpExecuteOptions = WaitOptions;

/** Options of {@link QmpClient.waitForEvent}. No timeout unless `timeoutMs` is given. */
export interface QmpWaitForEventOptions<K extends string> extends WaitOptions {
  /** Only an event for which this returns true resolves the wait. Default: any event named so. */
  predicate?: (event: QmpEvent<K>) => boolean;
}

/** Options of {@link QmpClient.waitForJob} and {@link QmpClient.runJob}. */
export interface QmpJobOptions extends WaitOptions {
  /** Milliseconds between `query-jobs` polls (a JOB_STATUS_CHANGE event polls at once). Default 100. */
  pollIntervalMs?: number;
  /** Run `job-dismiss` once the job concluded. Default true. */
  dismiss?: boolean;
}

/** Events a {@link QmpClient} emits. Listeners must not throw (a throw is re-thrown asynchronously). */
export interface QmpClientEvents {
  /** Every asynchronous QMP event, in arrival order. */
  event: (event: QmpEvent) => void;
  /** The connection is gone: `error` undefined after `close()`, a `ProtocolError` when QEMU went away. */
  close: (error: Error | undefined) => void;
}

/** Commands whose arguments and answers are typed; any other name goes through the untyped overload. */
export interface QmpCommandMap {
  qmp_capabilities: { args: { enable?: string[] } | undefined; return: Record<string, never> };
  'query-status': { args: undefined; return: QmpStatusInfo };
  'query-version': { args: undefined; return: QmpVersionInfo };
  'query-jobs': { args: undefined; return: QmpJobInfo[] };
  'job-dismiss': { args: { id: string }; return: Record<string, never> };
  'job-cancel': { args: { id: string }; return: Record<string, never> };
  stop: { args: undefined; return: Record<string, never> };
  cont: { args: undefined; return: Record<string, never> };
  quit: { args: undefined; return: Record<string, never> };
  system_powerdown: { args: undefined; return: Record<string, never> };
  system_reset: { args: undefined; return: Record<string, never> };
  device_del: { args: { id: string }; return: Record<string, never> };
}

interface PendingCommand {
  command: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface EventWaiter {
  name: string;
  predicate: ((event: QmpEvent<string>) => boolean) | undefined;
  resolve(event: QmpEvent<string>): void;
  reject(error: unknown): void;
}

/**
 * A QMP client on a unix socket (QEMU's `-qmp unix:PATH,server=on,wait=off`), written for
 * Corral without dependencies.
 *
 * - `connect` reads the greeting and negotiates capabilities (none enabled, so no OOB).
 * - Commands carry an id (`corral-N`); replies are matched by id, so any number may be in
 *   flight and events may arrive between them. A reply without id (QEMU answers that way
 *   only when it could not parse a request) settles the oldest pending command, as QEMU
 *   answers in order.
 * - A failed command rejects with `ProtocolError` (peer `qmp`) whose `data` is
 *   {@link QmpErrorData}; a timeout with `TimeoutError`, an abort with `AbortedError` (the
 *   command may still run in QEMU: QMP cannot cancel it).
 * - When the connection drops, every pending command and event wait rejects with the
 *   `ProtocolError` of the loss and `close` is emitted; after `close()` they reject with
 *   `DisposedError`.
 * - Events are emitted as `event` and can be awaited with {@link waitForEvent}. There is no
 *   backlog: start waiting before the command that causes the event.
 *
 * One client per QEMU process at a time: QEMU serves one QMP client per socket.
 */
export class QmpClient {
  /** The socket path. */
  readonly path: string;
  readonly #conn: JsonLineConnection;
  readonly #commandTimeoutMs: number;
  readonly #emitter = new EventEmitter();
  readonly #pending = new Map<string, PendingCommand>();
  readonly #waiters = new Set<EventWaiter>();
  #nextId = 1;
  #greeting: QmpGreeting | undefined;
  #greetingWaiter: { resolve(g: QmpGreeting): void; reject(e: unknown): void } | undefined;
  #closed = false;
  #closeError: Error | undefined;
  readonly #closedPromise: Promise<Error | undefined>;
  #resolveClosed!: (error: Error | undefined) => void;

  private constructor(conn: JsonLineConnection, options: QmpClientOptions) {
    this.#conn = conn;
    this.path = conn.path;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_QMP_COMMAND_TIMEOUT_MS;
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    conn.attach({ onMessage: (m) => this.#onMessage(m), onClose: (e) => this.#onClose(e) });
  }

  /**
   * Connects to QEMU's QMP socket at `path`, reads the greeting and sends `qmp_capabilities`.
   *
   * Rejects with `UnavailableError` when nobody listens at `path` (see {@link connectWithRetry}
   * for a QEMU just spawned), `ProtocolError` when the peer does not speak QMP,
   * `TimeoutError` (default {@link DEFAULT_QMP_CONNECT_TIMEOUT_MS}) or `AbortedError`.
   * Leaves no socket open when it rejects.
   */
  static async connect(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_QMP_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const conn = await JsonLineConnection.open(path, {
      peer: 'qmp',
      timeoutMs,
      signal: options.signal,
      maxLineBytes: options.maxLineBytes,
    });
    const client = new QmpClient(conn, options);
    try {
      await client.#handshake({ timeoutMs: remaining(), signal: options.signal });
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** The greeting QEMU sent (its version and capabilities). */
  get greeting(): QmpGreeting {
    if (!this.#greeting) throw new ProtocolError('qmp', 'QMP greeting not received yet');
    return this.#greeting;
  }

  /** True once the connection is closed (by `close()` or by QEMU). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolves when the connection is closed: with undefined after `close()`, with the
   * `ProtocolError` of the loss when QEMU went away (for instance after `quit`). Never rejects
   * unless `timeoutMs`/`signal` end the wait (`TimeoutError`/`AbortedError`).
   */
  waitForClose(options: WaitOptions = {}): Promise<Error | undefined> {
    if (this.#closed) return Promise.resolve(this.#closeError);
    return waitFor<Error | undefined>(`QMP connection ${this.path} to close`, options, (resolve) => {
      void this.#closedPromise.then(resolve);
    });
  }

  /** Adds a listener; see {@link QmpClientEvents}. */
  on<E extends keyof QmpClientEvents>(name: E, listener: QmpClientEvents[E]): this {
    this.#emitter.on(name, listener);
    return this;
  }

  /** Adds a listener called at most once. */
  once<E extends keyof QmpClientEvents>(name: E, listener: QmpClientEvents[E]): this {
    this.#emitter.once(name, listener);
    return this;
  }

  /** Removes a listener. */
  off<E extends keyof QmpClientEvents>(name: E, listener: QmpClientEvents[E]): this {
    this.#emitter.off(name, listener);
    return this;
  }

  /**
   * Runs one QMP command and resolves with its `return` value.
   *
   * Rejects with `ProtocolError` (data {@link QmpErrorData}) when QEMU answers with an error,
   * `TimeoutError` after `timeoutMs` (default: the client's `commandTimeoutMs`),
   * `AbortedError` on `signal`, the connection's `ProtocolError` when QEMU goes away before
   * answering, and `DisposedError` after `close()`.
   */
  execute<C extends keyof QmpCommandMap>(
    command: C,
    args?: QmpCommandMap[C]['args'],
    options?: QmpExecuteOptions,
  ): Promise<QmpCommandMap[C]['return']>;
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpExecuteOptions): Promise<T>;
  execute(command: string, args?: Record<string, unknown>, options: QmpExecuteOptions = {}): Promise<unknown> {
    if (typeof command !== 'string' || command === '') {
      return Promise.reject(new InvalidArgumentError('command', 'QMP command name must be a non-empty string'));
    }
    if (this.#closed) return Promise.reject(this.#closedError());
    const id = `corral-${this.#nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return waitFor<unknown>(`QMP command '${command}' on ${this.path}`, { timeoutMs, signal: options.signal }, (resolve, reject) => {
      const request: JsonObject = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.#conn.send(request); // throws when closed: nothing registered yet
      this.#pending.set(id, { command, resolve, reject });
      return () => this.#pending.delete(id);
    });
  }

  /**
   * Waits for the next event named `name` for which `options.predicate` holds, and resolves
   * with it. Start waiting before triggering the event: events that arrived earlier are not
   * kept. Rejects with `TimeoutError`/`AbortedError`, or when the connection closes.
   */
  waitForEvent<K extends string>(name: K, options: QmpWaitForEventOptions<K> = {}): Promise<QmpEvent<K>> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return waitFor<QmpEvent<K>>(`QMP event ${name} on ${this.path}`, options, (resolve, reject) => {
      const waiter: EventWaiter = {
        name,
        predicate: options.predicate as ((event: QmpEvent<string>) => boolean) | undefined,
        resolve: resolve as (event: QmpEvent<string>) => void,
        reject,
      };
      this.#waiters.add(waiter);
      return () => this.#waiters.delete(waiter);
    });
  }

  /**
   * Unplugs device `id` (`device_del`) and resolves once QEMU reports it gone: the
   * DEVICE_DELETED event whose `data.device` is `id` (the event for the virtio backend, which
   * has no `device`, is skipped). The guest must cooperate (ACPI hot-unplug), so give a
   * timeout. Rejects with the `device_del` error (`ProtocolError`, class `DeviceNotFound` for
   * an unknown id), `TimeoutError` or `AbortedError`.
   */
  async deviceDel(id: string, options: WaitOptions = {}): Promise<QmpEvent<'DEVICE_DELETED'>> {
    if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('id', 'device id must be a non-empty string');
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const deleted = this.waitForEvent('DEVICE_DELETED', {
      predicate: (event) => event.data.device === id,
      timeoutMs: options.timeoutMs,
      signal,
    });
    deleted.catch(() => undefined);
    try {
      await this.execute('device_del', { id }, options);
    } catch (error) {
      stop.abort();
      throw error;
    }
    return deleted;
  }

  /**
   * Polls `query-jobs` until job `jobId` is `concluded`, then (unless `dismiss: false`)
   * dismisses it. Resolves with the concluded job's info. Rejects with `ProtocolError` (data =
   * the job info) when the job concluded with an error (after dismissing it), `NotFoundError`
   * (kind `job`) when no such job exists, `TimeoutError` or `AbortedError` (the job is then
   * left as it is: cancel it with `job-cancel` if needed).
   */
  async waitForJob(jobId: string, options: QmpJobOptions = {}): Promise<QmpJobInfo> {
    const { timeoutMs, signal } = options;
    const pollMs = options.pollIntervalMs ?? 100;
    const deadline = timeoutMs && timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const remaining = (): number | undefined => (deadline === Infinity ? undefined : Math.max(1, deadline - Date.now()));
    for (;;) {
      const jobs = await this.execute('query-jobs', undefined, { timeoutMs: remaining(), signal });
      const job = jobs.find((j) => j.id === jobId);
      if (!job) throw new NotFoundError('job', jobId, `QMP job '${jobId}' does not exist (never started, or dismissed already)`);
      if (job.status === 'concluded') {
        if (options.dismiss !== false) await this.execute('job-dismiss', { id: jobId }, { timeoutMs: remaining(), signal });
        if (job.error !== undefined) {
          throw new ProtocolError('qmp', `QMP job '${jobId}' (${job.type}) failed: ${job.error}`, job);
        }
        return job;
      }
      if (Date.now() >= deadline) throw new TimeoutError(`QMP job '${jobId}' to conclude (status ${job.status})`, timeoutMs ?? 0);
      const left = remaining();
      try {
        await this.waitForEvent('JOB_STATUS_CHANGE', {
          predicate: (event) => event.data.id === jobId,
          timeoutMs: left === undefined ? pollMs : Math.min(pollMs, left),
          signal,
        });
      } catch (error) {
        if (!isCorralError(error, ErrorCodes.timeout)) throw error;
      }
    }
  }

  /**
   * Starts a job command (`snapshot-save`, `snapshot-load`, `snapshot-delete`,
   * `blockdev-create`...) whose arguments carry `job-id`, then {@link waitForJob}.
   * Throws `InvalidArgumentError` when `args['job-id']` is not a non-empty string.
   */
  async runJob(command: string, args: Record<string, unknown>, options: QmpJobOptions = {}): Promise<QmpJobInfo> {
    const jobId = args['job-id'];
    if (typeof jobId !== 'string' || jobId === '') {
      throw new InvalidArgumentError('args.job-id', `QMP job command '${command}' needs a 'job-id' string argument`);
    }
    await this.execute(command, args, { timeoutMs: options.timeoutMs, signal: options.signal });
    return this.waitForJob(jobId, options);
  }

  /**
   * Closes the connection. Pending commands and event waits reject with `DisposedError`.
   * Does not stop QEMU. Idempotent; resolves when the socket is closed.
   */
  async close(): Promise<void> {
    await this.#conn.close();
  }

  async #handshake(options: WaitOptions): Promise<void> {
    const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : undefined;
    await waitFor<QmpGreeting>(`QMP greeting on ${this.path}`, options, (resolve, reject) => {
      if (this.#greeting) return resolve(this.#greeting);
      if (this.#closed) return reject(this.#closedError());
      this.#greetingWaiter = { resolve, reject };
      return () => (this.#greetingWaiter = undefined);
    });
    const timeoutMs = deadline === undefined ? undefined : Math.max(1, deadline - Date.now());
    await this.execute('qmp_capabilities', undefined, { timeoutMs, signal: options.signal });
  }

  #onMessage(message: JsonObject): void {
    if (!this.#greeting) {
      const qmp = message.QMP as QmpGreeting['QMP'] | undefined;
      if (!qmp || typeof qmp !== 'object' || typeof qmp.version !== 'object') {
        const error = new ProtocolError('qmp', `expected a QMP greeting on ${this.path}, got ${JSON.stringify(message).slice(0, 200)}`);
        this.#conn.fail(error);
        return;
      }
      this.#greeting = message as unknown as QmpGreeting;
      this.#greetingWaiter?.resolve(this.#greeting);
      return;
    }
    if (typeof message.event === 'string') {
      this.#dispatchEvent(message);
      return;
    }
    if ('return' in message || 'error' in message) {
      this.#dispatchReply(message);
      return;
    }
    // Anything else is not QMP: ignore it rather than guess.
  }

  #dispatchReply(message: JsonObject): void {
    let id = typeof message.id === 'string' ? message.id : undefined;
    if (id === undefined && message.id === undefined) id = this.#pending.keys().next().value;
    if (id === undefined) return;
    const pending = this.#pending.get(id);
    if (!pending) return; // late answer to a command that timed out or was aborted
    this.#pending.delete(id);
    if ('error' in message) {
      const body = (message.error ?? {}) as Partial<QmpErrorData>;
      const data: QmpErrorData = {
        command: pending.command,
        class: String(body.class ?? 'GenericError'),
        desc: String(body.desc ?? 'unknown error'),
      };
      pending.reject(new ProtocolError('qmp', `QMP command '${pending.command}' failed: ${data.desc} (${data.class})`, data));
    } else {
      pending.resolve(message.return);
    }
  }

  #dispatchEvent(message: JsonObject): void {
    const event: QmpEvent = {
      event: message.event as string,
      data: (message.data && typeof message.data === 'object' ? message.data : {}) as QmpEventData<string>,
      timestamp: (message.timestamp as QmpEvent['timestamp']) ?? { seconds: 0, microseconds: 0 },
    };
    for (const waiter of [...this.#waiters]) {
      if (waiter.name !== event.event) continue;
      let match: boolean;
      try {
        match = waiter.predicate ? waiter.predicate(event) : true;
      } catch (error) {
        waiter.reject(error);
        continue;
      }
      if (match) waiter.resolve(event);
    }
    try {
      this.#emitter.emit('event', event);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  #closedError(): Error {
    return this.#closeError ?? new DisposedError(`QMP client for ${this.path}`);
  }

  #onClose(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    const reason = this.#closedError();
    this.#greetingWaiter?.reject(reason);
    for (const pending of [...this.#pending.values()]) pending.reject(reason);
    this.#pending.clear();
    for (const waiter of [...this.#waiters]) waiter.reject(reason);
    this.#resolveClosed(error);
    try {
      this.#emitter.emit('close', error);
    } catch (listenerError) {
      process.nextTick(() => {
        throw listenerError;
      });
    }
  }
}

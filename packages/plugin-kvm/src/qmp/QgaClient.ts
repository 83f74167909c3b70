import { randomInt } from 'node:crypto';
import { DisposedError, ErrorCodes, InvalidArgumentError, ProtocolError, TimeoutError, isCorralError } from '@corral/core';
import { JsonLineConnection, type JsonObject } from './JsonLineConnection.js';
import type { QmpErrorData } from './QmpTypes.js';
import { delay, waitFor, type WaitOptions } from './waitFor.js';

/** Default timeout of one guest agent command: 10 s. */
export const DEFAULT_QGA_COMMAND_TIMEOUT_MS = 10_000;
/** Default timeout of connect + `guest-sync-delimited`: 30 s (the agent may still be starting). */
export const DEFAULT_QGA_CONNECT_TIMEOUT_MS = 30_000;

/** Options of a {@link QgaClient}. */
export interface QgaClientOptions {
  /** Timeout in ms of commands that name none. 0: none. Default {@link DEFAULT_QGA_COMMAND_TIMEOUT_MS}. */
  commandTimeoutMs?: number;
}

/** Options of {@link QgaClient.connect}: `timeoutMs` bounds connect + sync. */
export interface QgaConnectOptions extends QgaClientOptions, WaitOptions {
  /** Resend `guest-sync-delimited` after this many ms without an answer. Default 1000. */
  syncRetryMs?: number;
}

/** Arguments of {@link QgaClient.exec} (`guest-exec`). */
export interface QgaExecRequest {
  /** Program path in the guest. */
  path: string;
  /** Arguments (argv[1..]). */
  args?: readonly string[];
  /** Environment, `NAME=value` strings (replaces the agent's environment). */
  env?: readonly string[];
  /** Bytes for the program's stdin. */
  input?: string | Uint8Array;
  /** Capture stdout and stderr (returned by `guest-exec-status`). Default true. */
  captureOutput?: boolean;
}

/** Answer of `guest-exec-status`, as the agent sends it (output base64-encoded). */
export interface QgaExecStatus {
  exited: boolean;
  exitcode?: number;
  signal?: number;
  'out-data'?: string;
  'err-data'?: string;
  'out-truncated'?: boolean;
  'err-truncated'?: boolean;
}

/** What {@link QgaClient.run} returns once the program exited. */
export interface QgaRunResult {
  /** Exit code; undefined when killed by a signal. */
  exitCode: number | undefined;
  /** Signal number that killed the program, if any. */
  signal: number | undefined;
  /** Captured stdout, decoded as UTF-8. */
  stdout: string;
  /** Captured stderr, decoded as UTF-8. */
  stderr: string;
  /** True when the agent cut the output (it keeps at most 16 MiB). */
  truncated: boolean;
}

/** Options of {@link QgaClient.run}. `timeoutMs` bounds the whole run. */
export interface QgaRunOptions extends WaitOptions {
  /** Milliseconds between `guest-exec-status` polls. Default 100. */
  pollIntervalMs?: number;
}

/** Answer of `guest-fsfreeze-status`. */
export type QgaFsFreezeStatus = 'thawed' | 'frozen';

/** Options of {@link QgaClient.shutdown}. */
export interface QgaShutdownOptions {
  /** Default `powerdown`. */
  mode?: 'powerdown' | 'halt' | 'reboot';
  /**
   * The agent answers `guest-shutdown` only when it fails: wait this long for such an error
   * before resolving. Default 500 ms.
   */
  errorGraceMs?: number;
}

interface PendingCommand {
  command: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The byte that resets the agent's JSON parser (`guest-sync-delimited` protocol). */
const SYNC_PREFIX = Uint8Array.of(0xff);

/**
 * A client of the QEMU guest agent (qemu-ga) through QEMU's chardev unix socket
 * (`-chardev socket,path=...,server=on,wait=off` + `virtserialport name=org.qemu.guest_agent.0`).
 *
 * `connect` performs the `guest-sync-delimited` handshake (0xFF, then a random id the agent
 * echoes), resending until the agent answers: QEMU buffers requests while the guest boots, so
 * connecting early is fine. Requests carry an id and replies are matched by it; stray lines
 * (the parse error the 0xFF causes, answers to resent syncs) are ignored.
 *
 * Errors: a failed command rejects with `ProtocolError` (peer `qga`, data {@link QmpErrorData});
 * `TimeoutError`/`AbortedError` as usual (an agent that is not running never answers, so
 * every call should have a timeout: the default is {@link DEFAULT_QGA_COMMAND_TIMEOUT_MS});
 * connection loss rejects pending calls with `ProtocolError`; after `close()` they reject
 * with `DisposedError`. The agent runs one command at a time.
 */
export class QgaClient {
  /** The socket path. */
  readonly path: string;
  readonly #conn: JsonLineConnection;
  readonly #commandTimeoutMs: number;
  readonly #pending = new Map<string, PendingCommand>();
  #nextId = 1;
  #closed = false;
  #closeError: Error | undefined;

  private constructor(conn: JsonLineConnection, options: QgaClientOptions) {
    this.#conn = conn;
    this.path = conn.path;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_QGA_COMMAND_TIMEOUT_MS;
    conn.attach({ onMessage: (m) => this.#onMessage(m), onClose: (e) => this.#onClose(e) });
  }

  /**
   * Connects to the agent socket at `path` and synchronizes with the agent. Rejects with
   * `UnavailableError` when nothing listens at `path`, `TimeoutError` (default
   * {@link DEFAULT_QGA_CONNECT_TIMEOUT_MS}) when the agent never answered, `AbortedError`.
   * Leaves no socket open when it rejects.
   */
  static async connect(path: string, options: QgaConnectOptions = {}): Promise<QgaClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_QGA_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const conn = await JsonLineConnection.open(path, { peer: 'qga', timeoutMs, signal: options.signal });
    const client = new QgaClient(conn, options);
    try {
      await client.sync({ timeoutMs: Math.max(1, deadline - Date.now()), signal: options.signal, retryMs: options.syncRetryMs });
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** True once the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * `guest-sync-delimited` handshake: flushes the agent's parser and waits until it echoes a
   * fresh random id, resending every `retryMs` (default 1000). Call it again after a timeout
   * to drop stale answers. Rejects with `TimeoutError` (default: the command timeout).
   */
  async sync(options: WaitOptions & { retryMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    const retryMs = options.retryMs ?? 1000;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    for (;;) {
      const nonce = randomInt(1, 2 ** 31 - 1);
      const left = deadline - Date.now();
      try {
        const echoed = await this.#send('guest-sync-delimited', { id: nonce }, {
          timeoutMs: Math.max(1, Math.min(retryMs, left)),
          signal: options.signal,
          prefix: SYNC_PREFIX,
        });
        if (echoed === nonce) return;
        throw new ProtocolError('qga', `guest agent answered guest-sync-delimited ${nonce} with ${JSON.stringify(echoed)}`);
      } catch (error) {
        if (!isCorralError(error, ErrorCodes.timeout)) throw error;
        if (Date.now() >= deadline) throw new TimeoutError(`guest agent on ${this.path} to answer guest-sync-delimited`, timeoutMs);
      }
    }
  }

  /**
   * Runs one agent command and resolves with its `return` value. See the class comment for
   * errors. Use {@link shutdown} for `guest-shutdown`, which answers only on failure.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: WaitOptions = {}): Promise<T> {
    if (typeof command !== 'string' || command === '') {
      return Promise.reject(new InvalidArgumentError('command', 'guest agent command name must be a non-empty string'));
    }
    return this.#send(command, args, options) as Promise<T>;
  }

  /** `guest-ping`: resolves when the agent answers. */
  async ping(options: WaitOptions = {}): Promise<void> {
    await this.execute('guest-ping', undefined, options);
  }

  /** `guest-info`: the agent's version and its commands. */
  info(options: WaitOptions = {}): Promise<{ version: string; supported_commands: { name: string; enabled: boolean }[] }> {
    return this.execute('guest-info', undefined, options);
  }

  /** `guest-exec`: starts a program in the guest and resolves with its guest pid. */
  async exec(request: QgaExecRequest, options: WaitOptions = {}): Promise<number> {
    if (typeof request.path !== 'string' || request.path === '') {
      throw new InvalidArgumentError('path', 'guest-exec needs the program path');
    }
    const args: Record<string, unknown> = {
      path: request.path,
      'capture-output': request.captureOutput ?? true,
    };
    if (request.args) args.arg = [...request.args];
    if (request.env) args.env = [...request.env];
    if (request.input !== undefined) {
      args['input-data'] = Buffer.from(request.input as string | Uint8Array).toString('base64');
    }
    const answer = await this.execute<{ pid: number }>('guest-exec', args, options);
    return answer.pid;
  }

  /** `guest-exec-status` of a pid returned by {@link exec}. Output stays base64, as sent. */
  execStatus(pid: number, options: WaitOptions = {}): Promise<QgaExecStatus> {
    return this.execute<QgaExecStatus>('guest-exec-status', { pid }, options);
  }

  /**
   * Runs a program in the guest to its end: `guest-exec`, then `guest-exec-status` every
   * `pollIntervalMs` until it exited. `timeoutMs` bounds the whole run (the program keeps
   * running in the guest after a timeout). Output decoded as UTF-8.
   */
  async run(request: QgaExecRequest, options: QgaRunOptions = {}): Promise<QgaRunResult> {
    const deadline = options.timeoutMs && options.timeoutMs > 0 ? Date.now() + options.timeoutMs : Infinity;
    const left = (): number | undefined => (deadline === Infinity ? undefined : Math.max(1, deadline - Date.now()));
    const pid = await this.exec(request, { timeoutMs: left(), signal: options.signal });
    for (;;) {
      const status = await this.execStatus(pid, { timeoutMs: left(), signal: options.signal });
      if (status.exited) {
        return {
          exitCode: status.exitcode,
          signal: status.signal,
          stdout: Buffer.from(status['out-data'] ?? '', 'base64').toString('utf8'),
          stderr: Buffer.from(status['err-data'] ?? '', 'base64').toString('utf8'),
          truncated: Boolean(status['out-truncated'] || status['err-truncated']),
        };
      }
      if (Date.now() >= deadline) throw new TimeoutError(`guest program ${request.path} (pid ${pid}) to exit`, options.timeoutMs ?? 0);
      await delay(Math.min(options.pollIntervalMs ?? 100, left() ?? Infinity), options.signal);
    }
  }

  /** `guest-fsfreeze-freeze`: freezes the guest's file systems; resolves with how many. */
  fsFreeze(options: WaitOptions = {}): Promise<number> {
    return this.execute<number>('guest-fsfreeze-freeze', undefined, options);
  }

  /** `guest-fsfreeze-thaw`: thaws them; resolves with how many were thawed. */
  fsThaw(options: WaitOptions = {}): Promise<number> {
    return this.execute<number>('guest-fsfreeze-thaw', undefined, options);
  }

  /** `guest-fsfreeze-status`. */
  fsFreezeStatus(options: WaitOptions = {}): Promise<QgaFsFreezeStatus> {
    return this.execute<QgaFsFreezeStatus>('guest-fsfreeze-status', undefined, options);
  }

  /**
   * `guest-shutdown`. The agent sends no answer on success (the guest goes down), so this
   * resolves after `errorGraceMs` without an error answer, or when the connection drops in
   * that time (QEMU exited with the guest); it rejects with `ProtocolError` when the agent
   * reports a failure in that time. Watch QEMU (SHUTDOWN event, process exit)
   * to know when the guest is actually off.
   */
  async shutdown(options: QgaShutdownOptions = {}): Promise<void> {
    try {
      await this.#send('guest-shutdown', { mode: options.mode ?? 'powerdown' }, { timeoutMs: options.errorGraceMs ?? 500 });
    } catch (error) {
      // No answer in time, or the connection went away with the guest (QEMU exited): success.
      if (isCorralError(error, ErrorCodes.timeout)) return;
      if (this.#closed && error === this.#closeError && error !== undefined) return;
      throw error;
    }
  }

  /** Closes the connection (the agent keeps running). Idempotent. */
  async close(): Promise<void> {
    await this.#conn.close();
  }

  #send(
    command: string,
    args: Record<string, unknown> | undefined,
    options: WaitOptions & { prefix?: Uint8Array },
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const id = `corral-${this.#nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.#commandTimeoutMs;
    return waitFor<unknown>(`guest agent command '${command}' on ${this.path}`, { timeoutMs, signal: options.signal }, (resolve, reject) => {
      const request: JsonObject = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.#conn.send(request, { prefix: options.prefix }); // throws when closed: nothing registered yet
      this.#pending.set(id, { command, resolve, reject });
      return () => this.#pending.delete(id);
    });
  }

  #onMessage(message: JsonObject): void {
    // Lines without our id: the parse error 0xFF provokes, or answers meant for a previous
    // client of the socket. Nothing to match them with.
    if (typeof message.id !== 'string') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if ('error' in message) {
      const body = (message.error ?? {}) as Partial<QmpErrorData>;
      const data: QmpErrorData = {
        command: pending.command,
        class: String(body.class ?? 'GenericError'),
        desc: String(body.desc ?? 'unknown error'),
      };
      pending.reject(new ProtocolError('qga', `guest agent command '${pending.command}' failed: ${data.desc} (${data.class})`, data));
    } else {
      pending.resolve(message.return);
    }
  }

  #closedError(): Error {
    return this.#closeError ?? new DisposedError(`guest agent client for ${this.path}`);
  }

  #onClose(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    const reason = this.#closedError();
    for (const pending of [...this.#pending.values()]) pending.reject(reason);
    this.#pending.clear();
  }
}

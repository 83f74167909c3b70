import { createConnection, type Socket } from 'node:net';
import { ProtocolError, UnavailableError } from '@corral/core';
import { waitFor, type WaitOptions } from './waitFor.js';

/** One JSON object received from the peer. */
export type JsonObject = Record<string, unknown>;

/** Longest line accepted from a peer: 64 MiB (a `query-*` answer is far smaller). */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Callbacks of a {@link JsonLineConnection}. */
export interface JsonLineHandlers {
  /** Called for every JSON object, in order. */
  onMessage(message: JsonObject): void;
  /**
   * Called once when the connection is gone: `error` is undefined after a local `close()`, a
   * `ProtocolError` after an EOF or reset from the peer or after unparseable input.
   */
  onClose(error: Error | undefined): void;
}

/** Options of {@link JsonLineConnection.open}. */
export interface JsonLineOpenOptions extends WaitOptions {
  /** Peer name used in errors (`qmp`, `qga`). */
  peer: string;
  /** Longest accepted line in bytes. Default {@link DEFAULT_MAX_LINE_BYTES}. */
  maxLineBytes?: number;
}

/** Socket error codes that mean "nobody listens there (yet)". */
export const NOT_LISTENING_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

/**
 * A unix-socket connection carrying newline-separated JSON objects in both directions, the
 * framing of QMP and of the QEMU guest agent.
 *
 * Incoming bytes 0xFF are dropped (the guest agent's `guest-sync-delimited` sentinel) and
 * `\r\n` is accepted as a line end. A line that is not a JSON object, or longer than
 * `maxLineBytes`, is a protocol violation: the connection is closed with a `ProtocolError`.
 * Not thread-safe in any sense that matters in Node: one owner sends and receives.
 */
export class JsonLineConnection {
  readonly #socket: Socket;
  readonly #peer: string;
  readonly #path: string;
  readonly #maxLineBytes: number;
  #handlers: JsonLineHandlers | undefined;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #closed = false;
  #closeError: Error | undefined;
  #localClose = false;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  /** Messages that arrived before `attach` (the greeting can come in the connect tick). */
  #early: JsonObject[] = [];

  private constructor(socket: Socket, peer: string, path: string, maxLineBytes: number) {
    this.#socket = socket;
    this.#peer = peer;
    this.#path = path;
    this.#maxLineBytes = maxLineBytes;
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.#localClose) {
        this.#closeError ??= new ProtocolError(this.#peer, `${this.#peer} connection ${this.#path} failed: ${error.message}`, undefined, {
          cause: error,
        });
      }
    });
    socket.on('close', () => this.#onClosed());
  }

  /**
   * Connects to the unix socket at `path`.
   *
   * Rejects with `UnavailableError` (component = peer; `cause` carries the errno error, whose
   * `code` is ENOENT or ECONNREFUSED when nobody listens yet), `TimeoutError` or
   * `AbortedError`.
   */
  static open(path: string, options: JsonLineOpenOptions): Promise<JsonLineConnection> {
    const { peer } = options;
    const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    return waitFor<JsonLineConnection>(`${peer} connection to ${path}`, options, (resolve, reject) => {
      const socket = createConnection({ path });
      let connected = false;
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(new UnavailableError(peer, `cannot connect to ${peer} socket ${path}: ${error.code ?? error.message}`, { cause: error }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        connected = true;
        socket.off('error', onError);
        resolve(new JsonLineConnection(socket, peer, path, maxLineBytes));
      });
      return () => {
        if (!connected) {
          socket.off('error', onError);
          socket.on('error', () => undefined);
          socket.destroy();
        }
      };
    });
  }

  /** Starts delivering messages (including any that arrived since `open`) to `handlers`. */
  attach(handlers: JsonLineHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const message of early) handlers.onMessage(message);
    if (this.#closed) handlers.onClose(this.#localClose ? undefined : this.#closeError);
  }

  /** The socket path. */
  get path(): string {
    return this.#path;
  }

  /** True once the socket is closed (by either side). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes `message` as one JSON line. `prefix` bytes (the guest agent's 0xFF) are written
   * just before it. Throws `ProtocolError` when the connection is closed.
   */
  send(message: JsonObject, options: { prefix?: Uint8Array } = {}): void {
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) {
      throw new ProtocolError(this.#peer, `${this.#peer} connection ${this.#path} is closed`);
    }
    const line = Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
    this.#socket.write(options.prefix ? Buffer.concat([options.prefix, line]) : line);
  }

  /** Closes the socket; resolves when it is closed. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#localClose = true;
      this.#socket.destroy();
    }
    return this.#closedPromise;
  }

  /** Closes the socket because the peer broke the protocol; handlers see `error`. */
  fail(error: Error): void {
    if (this.#closed) return;
    this.#closeError ??= error;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      const line = this.#buffered > 0 ? Buffer.concat([...this.#chunks, piece]) : piece;
      this.#chunks = [];
      this.#buffered = 0;
      this.#onLine(line);
      if (this.#closed || this.#socket.destroyed) return;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.#chunks.push(rest);
      this.#buffered += rest.length;
      if (this.#buffered > this.#maxLineBytes) {
        this.fail(new ProtocolError(this.#peer, `${this.#peer} sent a line longer than ${this.#maxLineBytes} bytes`));
      }
    }
  }

  #onLine(raw: Buffer): void {
    const bytes = raw.includes(0xff) ? Buffer.from(raw.filter((b) => b !== 0xff)) : raw;
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch (error) {
      this.fail(new ProtocolError(this.#peer, `${this.#peer} sent invalid JSON: ${text.slice(0, 200)}`, undefined, { cause: error }));
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.fail(new ProtocolError(this.#peer, `${this.#peer} sent a JSON value that is not an object: ${text.slice(0, 200)}`));
      return;
    }
    if (this.#handlers) this.#handlers.onMessage(message as JsonObject);
    else this.#early.push(message as JsonObject);
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = this.#localClose
      ? undefined
      : (this.#closeError ?? new ProtocolError(this.#peer, `${this.#peer} connection ${this.#path} was closed by the peer`));
    this.#closeError = error;
    this.#resolveClosed();
    this.#handlers?.onClose(error);
  }
}

/**
 * A unix-socket server that plays QEMU's side of QMP (or the guest agent's) from a script,
 * for edge cases a real QEMU will not produce on demand (replies out of order, a connection
 * dropped mid-command, a peer that never answers). What it sends should come from
 * `qmpRecordings.ts` (recorded from QEMU 7.2) wherever QEMU has a real answer.
 *
 * @packageDocumentation
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { QEMU_7_2_TRANSCRIPT } from './qmpRecordings.js';

/** A request as the client sent it. */
export interface QmpRequest {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
}

/** Answers one command; may reply, send events, stay silent or drop the connection. */
export type QmpHandler = (request: QmpRequest, session: ScriptedQmpSession) => void | Promise<void>;

/** Options of {@link ScriptedQmpServer.start}. */
export interface ScriptedQmpServerOptions {
  /** Directory for the socket (a test's private temp dir). */
  dir: string;
  /**
   * First line sent on connect. Default: QEMU 7.2's recorded greeting. `null`: none (guest
   * agent sockets have no greeting).
   */
  greeting?: string | null;
  /** Handlers by command name; `qmp_capabilities` answers `{}` unless overridden. */
  handlers?: Record<string, QmpHandler>;
  /** Socket file name. Default `qmp.sock`. */
  socketName?: string;
  /** Do not listen yet (see {@link ScriptedQmpServer.listen}). */
  deferListen?: boolean;
}

/** One client connection to the scripted server. */
export class ScriptedQmpSession {
  /** Requests received on this connection, in order. */
  readonly requests: QmpRequest[] = [];
  /** Raw bytes received (to check prefixes like the agent's 0xFF). */
  readonly received: Buffer[] = [];

  constructor(readonly socket: Socket) {}

  /** Sends one line (QEMU ends lines with \r\n). */
  sendLine(text: string): void {
    if (!this.socket.destroyed) this.socket.write(`${text}\r\n`);
  }

  /** Sends raw bytes. */
  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Answers `request` with `{"return": value}` (same id). */
  reply(request: QmpRequest, value: unknown = {}): void {
    this.sendLine(JSON.stringify(request.id === undefined ? { return: value } : { return: value, id: request.id }));
  }

  /** Answers `request` with a recorded reply (parsed object), its id replaced by the request's. */
  replyRecorded(request: QmpRequest, recordedReply: Record<string, unknown>): void {
    const { id: _ignored, ...rest } = recordedReply;
    this.sendLine(JSON.stringify(request.id === undefined ? rest : { ...rest, id: request.id }));
  }

  /** Answers `request` with a QMP error. */
  fail(request: QmpRequest, errorClass: string, desc: string): void {
    const body = { error: { class: errorClass, desc } };
    this.sendLine(JSON.stringify(request.id === undefined ? body : { id: request.id, ...body }));
  }

  /** Sends an event (with the current time stamp), or a recorded event object as it is. */
  event(nameOrRecorded: string | Record<string, unknown>, data?: Record<string, unknown>): void {
    if (typeof nameOrRecorded !== 'string') {
      this.sendLine(JSON.stringify(nameOrRecorded));
      return;
    }
    const now = Date.now();
    const timestamp = { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 };
    this.sendLine(JSON.stringify(data === undefined ? { timestamp, event: nameOrRecorded } : { timestamp, event: nameOrRecorded, data }));
  }

  /** Drops the connection abruptly (as a crashing QEMU would). */
  drop(): void {
    this.socket.destroy();
  }

  /** Resolves once the client has closed or ended the connection (at once when it has already). */
  async closedByPeer(): Promise<void> {
    if (this.socket.destroyed || this.socket.readableEnded) return;
    await new Promise<void>((resolve) => {
      this.socket.once('end', resolve);
      this.socket.once('close', resolve);
    });
  }
}

/** The scripted server; see the module comment. */
export class ScriptedQmpServer {
  /** Socket path. */
  readonly path: string;
  /** Every connection so far. */
  readonly sessions: ScriptedQmpSession[] = [];
  readonly #server: Server;
  readonly #handlers: Record<string, QmpHandler>;
  readonly #greeting: string | null;
  readonly #requestWaiters: { command: string; resolve: (v: { request: QmpRequest; session: ScriptedQmpSession }) => void }[] = [];

  private constructor(options: ScriptedQmpServerOptions) {
    this.path = join(options.dir, options.socketName ?? 'qmp.sock');
    this.#greeting = options.greeting === undefined ? QEMU_7_2_TRANSCRIPT[0]! : options.greeting;
    this.#handlers = { qmp_capabilities: (req, s) => s.reply(req, {}), ...options.handlers };
    this.#server = createServer((socket) => this.#onConnection(socket));
  }

  /** Creates the server and (unless `deferListen`) starts listening. */
  static async start(options: ScriptedQmpServerOptions): Promise<ScriptedQmpServer> {
    const server = new ScriptedQmpServer(options);
    if (!options.deferListen) await server.listen();
    return server;
  }

  /** Starts listening on {@link path}. */
  async listen(): Promise<void> {
    this.#server.listen(this.path);
    await once(this.#server, 'listening');
  }

  /** All requests of all sessions, in arrival order per session. */
  get requests(): QmpRequest[] {
    return this.sessions.flatMap((s) => s.requests);
  }

  /** Replaces or adds the handler of `command`. */
  handle(command: string, handler: QmpHandler): void {
    this.#handlers[command] = handler;
  }

  /** Resolves with the next request for `command` (received from now on). */
  nextRequest(command: string): Promise<{ request: QmpRequest; session: ScriptedQmpSession }> {
    return new Promise((resolve) => this.#requestWaiters.push({ command, resolve }));
  }

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    for (const s of this.sessions) s.socket.destroy();
    if (this.#server.listening) {
      this.#server.close();
      await once(this.#server, 'close');
    }
  }

  #onConnection(socket: Socket): void {
    const session = new ScriptedQmpSession(socket);
    this.sessions.push(session);
    socket.on('error', () => undefined);
    if (this.#greeting !== null) session.sendLine(this.#greeting);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      session.received.push(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      for (let nl = buffered.indexOf(0x0a); nl >= 0; nl = buffered.indexOf(0x0a)) {
        const line = Buffer.from(buffered.subarray(0, nl).filter((b) => b !== 0xff)).toString('utf8').trim();
        buffered = buffered.subarray(nl + 1);
        if (line) void this.#onRequest(JSON.parse(line) as QmpRequest, session);
      }
    });
  }

  async #onRequest(request: QmpRequest, session: ScriptedQmpSession): Promise<void> {
    session.requests.push(request);
    for (let i = 0; i < this.#requestWaiters.length; i++) {
      const waiter = this.#requestWaiters[i]!;
      if (waiter.command === request.execute) {
        this.#requestWaiters.splice(i, 1);
        waiter.resolve({ request, session });
        break;
      }
    }
    const handler = this.#handlers[request.execute];
    if (handler) await handler(request, session);
    else session.fail(request, 'CommandNotFound', `The command ${request.execute} has not been found`);
  }
}

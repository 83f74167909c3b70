/**
 * A minimal NBD client (fixed-newstyle handshake, `NBD_OPT_EXPORT_NAME`, simple replies,
 * one request in flight): enough to stream an image out of, or into, `qemu-nbd` over a
 * unix socket without a temporary file. Protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
 *
 * @packageDocumentation
 */
import { connect, type Socket } from 'node:net';
import { ProtocolError } from '@corral/core';

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_EXPORT_NAME = 1;
const REQUEST_MAGIC = 0x25609513;
const REPLY_MAGIC = 0x67446698;
const CMD_READ = 0;
const CMD_WRITE = 1;
const CMD_DISC = 2;
const CMD_FLUSH = 3;
const TFLAG_READ_ONLY = 2;

/** Largest request this client sends, bytes (qemu-nbd accepts 32 MiB). */
export const NBD_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Buffers socket data and hands out exact byte counts. */
class SocketReader {
  #chunks: Buffer[] = [];
  #length = 0;
  #waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #error: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.#chunks.push(c);
      this.#length += c.length;
      this.#pump();
    });
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new ProtocolError('qemu-nbd', 'NBD connection closed by the server')));
  }

  read(n: number): Promise<Buffer> {
    if (this.#waiter) return Promise.reject(new Error('NBD reader: one read at a time'));
    if (this.#length >= n) return Promise.resolve(this.#take(n));
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiter = { n, resolve, reject };
    });
  }

  #pump(): void {
    const w = this.#waiter;
    if (w && this.#length >= w.n) {
      this.#waiter = undefined;
      w.resolve(this.#take(w.n));
    }
  }

  #fail(e: Error): void {
    this.#error ??= e;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(this.#error);
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#length -= n;
    return out;
  }
}

/** One NBD connection to an export. Requests are sequential; offsets and lengths in bytes. */
export class NbdClient {
  #handle = 0n;

  private constructor(
    private readonly socket: Socket,
    private readonly reader: SocketReader,
    /** Size of the export in bytes. */
    readonly sizeBytes: number,
    /** True when the server refuses writes. */
    readonly readOnly: boolean,
  ) {}

  /**
   * Connects to a unix socket and negotiates export `exportName` (qemu-nbd's default is '').
   * Throws `ProtocolError` when the server does not speak fixed-newstyle NBD.
   */
  static async connect(socketPath: string, options: { exportName?: string } = {}): Promise<NbdClient> {
    const socket = connect(socketPath);
    const reader = new SocketReader(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    try {
      const hello = await reader.read(18);
      if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT) {
        throw new ProtocolError('qemu-nbd', 'not a fixed-newstyle NBD server');
      }
      const serverFlags = hello.readUInt16BE(16);
      if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw new ProtocolError('qemu-nbd', 'server lacks fixed-newstyle negotiation');
      const noZeroes = (serverFlags & FLAG_NO_ZEROES) !== 0;
      const name = Buffer.from(options.exportName ?? '', 'utf8');
      const opt = Buffer.alloc(4 + 16 + name.length);
      opt.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (noZeroes ? FLAG_NO_ZEROES : 0), 0);
      opt.writeBigUInt64BE(IHAVEOPT, 4);
      opt.writeUInt32BE(OPT_EXPORT_NAME, 12);
      opt.writeUInt32BE(name.length, 16);
      name.copy(opt, 20);
      socket.write(opt);
      const info = await reader.read(10);
      if (!noZeroes) await reader.read(124);
      const size = info.readBigUInt64BE(0);
      const tflags = info.readUInt16BE(8);
      return new NbdClient(socket, reader, Number(size), (tflags & TFLAG_READ_ONLY) !== 0);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  #request(type: number, offset: number, length: number, data?: Buffer): bigint {
    const handle = ++this.#handle;
    const h = Buffer.alloc(28);
    h.writeUInt32BE(REQUEST_MAGIC, 0);
    h.writeUInt16BE(0, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(handle, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    this.socket.write(data ? Buffer.concat([h, data]) : h);
    return handle;
  }

  async #reply(handle: bigint, what: string): Promise<void> {
    const r = await this.reader.read(16);
    if (r.readUInt32BE(0) !== REPLY_MAGIC) throw new ProtocolError('qemu-nbd', `bad reply magic to ${what}`);
    if (r.readBigUInt64BE(8) !== handle) throw new ProtocolError('qemu-nbd', `reply to ${what} carries another handle`);
    const error = r.readUInt32BE(4);
    if (error !== 0) {
      const name = error === 28 ? 'No space left on device (ENOSPC)' : error === 5 ? 'EIO' : error === 1 ? 'EPERM' : `errno ${error}`;
      throw new ProtocolError('qemu-nbd', `NBD ${what} failed: ${name}`, { errno: error });
    }
  }

  /** Reads `length` bytes at `offset` (at most {@link NBD_MAX_REQUEST_BYTES}). */
  async read(offset: number, length: number): Promise<Buffer> {
    const handle = this.#request(CMD_READ, offset, length);
    await this.#reply(handle, `read ${length}@${offset}`);
    return this.reader.read(length);
  }

  /** Writes `data` at `offset` (at most {@link NBD_MAX_REQUEST_BYTES}). */
  async write(offset: number, data: Buffer): Promise<void> {
    const handle = this.#request(CMD_WRITE, offset, data.length, data);
    await this.#reply(handle, `write ${data.length}@${offset}`);
  }

  /** Makes written data durable. */
  async flush(): Promise<void> {
    const handle = this.#request(CMD_FLUSH, 0, 0);
    await this.#reply(handle, 'flush');
  }

  /** Sends NBD_CMD_DISC and closes the connection (qemu-nbd without `-t` then exits). */
  async disconnect(): Promise<void> {
    if (this.socket.destroyed) return;
    this.#request(CMD_DISC, 0, 0);
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

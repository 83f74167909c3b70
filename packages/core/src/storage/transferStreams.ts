/**
 * Stream plumbing of the `*+size` transfer formats (pve-storage's `write_common_header` /
 * `read_common_header`: an unsigned 64-bit little-endian size, then the payload).
 *
 * Exported for driver authors: every image driver speaks `raw+size`, every rootdir driver
 * `tar+size`.
 *
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { ParseError } from '../errors.js';

/** Writes one chunk, waiting for `drain` when the consumer is slow; rejects when the consumer is gone. */
export function writeChunk(stream: Writable, chunk: Buffer): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(new Error('export stream was closed by its reader'));
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('export stream was closed by its reader'));
    const onError = (e: Error) => done(e);
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/**
 * Streams a file's or block device's bytes into `stream` (the body of a `raw+size` or
 * `qcow2+size` export; the stream is not ended), 1 MiB at a time, waiting for the reader.
 * With `length`, exactly its first `length` bytes.
 *
 * @returns The number of bytes written.
 * @throws ParseError naming the path when it holds fewer than `length` bytes; the read's error,
 *   the reader's (`writeChunk`) or the abort of `signal`.
 */
export async function writeFileBytes(path: string, stream: Writable, options: { length?: number; signal?: AbortSignal } = {}): Promise<number> {
  const { length, signal } = options;
  let n = 0;
  if (length !== 0) {
    const range = length === undefined ? {} : { start: 0, end: length - 1 };
    for await (const chunk of createReadStream(path, { ...range, highWaterMark: 1024 * 1024, signal })) {
      await writeChunk(stream, chunk as Buffer);
      n += (chunk as Buffer).length;
    }
  }
  if (length !== undefined && n !== length) throw new ParseError(path, `read ${n} bytes, the volume has ${length}`);
  return n;
}

/** Ends a stream and waits until everything was flushed to its reader. */
export function endStream(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

/** The 8-byte size header. */
export function encodeSizeHeader(sizeBytes: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(sizeBytes));
  return b;
}

/** A payload after its header: pull chunks with `next()`; `rest()` turns what is left into a Readable. */
export interface SizedStreamBody {
  /** Size from the header, bytes. */
  readonly sizeBytes: number;
  /** The next chunk, or undefined at the end of the stream. */
  next(): Promise<Buffer | undefined>;
  /** The unread rest as a Readable (for piping into a program's stdin). */
  rest(): Readable;
}

/**
 * Reads the 8-byte little-endian size header of a `*+size` stream. Throws `ParseError` when
 * the stream ends first or the size is beyond 2^53.
 */
export async function readSizeHeader(stream: Readable, format: string): Promise<SizedStreamBody> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const pending: Buffer[] = [];
  let have = 0;
  while (have < 8) {
    const r = await it.next();
    if (r.done) throw new ParseError(`${format} stream`, `ended after ${have} bytes, before its 8-byte size header`);
    const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    pending.push(c);
    have += c.length;
  }
  const all = Buffer.concat(pending);
  const size = all.readBigUInt64LE(0);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError(`${format} stream`, `size header ${size} is too large`);
  let leftover: Buffer | undefined = all.length > 8 ? all.subarray(8) : undefined;
  const next = async (): Promise<Buffer | undefined> => {
    if (leftover) {
      const l = leftover;
      leftover = undefined;
      return l;
    }
    const r = await it.next();
    if (r.done) return undefined;
    return typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  };
  return {
    sizeBytes: Number(size),
    next,
    rest: () =>
      Readable.from(
        (async function* () {
          for (let c = await next(); c; c = await next()) yield c;
        })(),
        { objectMode: false },
      ),
  };
}

/** Granularity of hole detection when importing, bytes. */
const SPARSE_BLOCK = 64 * 1024;
/** Chunks are gathered up to this many bytes before a write, bytes. */
const WRITE_BATCH = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(SPARSE_BLOCK);

/**
 * Copies exactly `sizeBytes` of `body` to `write(offset, data)`, skipping 64 KiB blocks that
 * are all zero (the target must read zeros where nothing was written: a fresh sparse file or
 * a fresh image without backing). Throws `ParseError` when the stream is shorter or longer
 * than its header says.
 */
export async function copySizedBody(
  body: SizedStreamBody,
  write: (offset: number, data: Buffer) => Promise<void>,
  options: { format: string; signal?: AbortSignal },
): Promise<void> {
  const size = body.sizeBytes;
  let offset = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batchBytes === 0) return;
    const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    let runStart = -1;
    for (let i = 0; i < data.length; i += SPARSE_BLOCK) {
      const end = Math.min(data.length, i + SPARSE_BLOCK);
      const zero = data.subarray(i, end).equals(end - i === SPARSE_BLOCK ? ZEROS : ZEROS.subarray(0, end - i));
      if (!zero && runStart < 0) runStart = i;
      if (zero && runStart >= 0) {
        await write(offset + runStart, data.subarray(runStart, i));
        runStart = -1;
      }
    }
    if (runStart >= 0) await write(offset + runStart, data.subarray(runStart));
    offset += data.length;
  };
  let received = 0;
  for (let chunk = await body.next(); chunk; chunk = await body.next()) {
    options.signal?.throwIfAborted();
    received += chunk.length;
    if (received > size) throw new ParseError(`${options.format} stream`, `carries more than the ${size} bytes its header announces`);
    batch.push(chunk);
    batchBytes += chunk.length;
    if (batchBytes >= WRITE_BATCH) await flush();
  }
  await flush();
  if (received < size) throw new ParseError(`${options.format} stream`, `ended after ${received} of ${size} bytes`);
}

/** tar flags of the `tar+size` format for container subvols (pve-storage's `@COMMON_TAR_FLAGS`). */
export const COMMON_TAR_FLAGS = Object.freeze([
  '--one-file-system',
  '-p',
  '--sparse',
  '--numeric-owner',
  '--acls',
  '--xattrs',
  '--xattrs-include=user.*',
  '--xattrs-include=security.capability',
  '--warning=no-file-ignored',
  '--warning=no-xattr-write',
]);

/**
 * Writes `body` into a new file at `path` (created exclusively: an existing file is `EEXIST`),
 * `body.sizeBytes` long, all-zero 64 KiB blocks left as holes ({@link copySizedBody}), then
 * synced. Throws `ParseError` when the stream is shorter or longer than its header says; the
 * caller removes the file after a failure.
 */
export async function writeSizedBodyToNewFile(path: string, body: SizedStreamBody, options: { format: string; signal?: AbortSignal }): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.truncate(body.sizeBytes);
    await copySizedBody(
      body,
      async (offset, data) => {
        await fh.write(data, 0, data.length, offset);
      },
      options,
    );
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The `raw+size` transfer format, streamed: an unsigned 64-bit little-endian size in bytes,
 * then exactly that many bytes of the image. Every image-capable driver speaks it, which is
 * how `kernel.storage.copy` moves a volume between storages of different types.
 *
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ParseError } from '@corral/core';

/** Zero blocks of this size (bytes) are skipped on import, leaving holes in the sparse file. */
const BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK);

/**
 * Writes the size header and the first `sizeBytes` bytes of file `path` to `stream`, then
 * ends `stream`. Rejects (and destroys `stream`) when reading fails or `signal` aborts.
 */
export async function exportRawSize(path: string, sizeBytes: number, stream: Writable, signal?: AbortSignal): Promise<void> {
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(sizeBytes));
  await pipeline(
    async function* () {
      yield header;
      if (sizeBytes > 0) yield* createReadStream(path, { end: sizeBytes - 1, highWaterMark: 1024 * 1024 });
    },
    stream,
    { signal },
  );
}

/** Writes the non-zero 64 KiB blocks of `data` at file offset `offset`, in runs. */
async function writeSparse(fh: FileHandle, data: Buffer, offset: number): Promise<void> {
  let run = -1; // start of the current run of non-zero blocks
  // One step past the end, where the (empty) block closes the last run.
  for (let i = 0; i < data.length + BLOCK; i += BLOCK) {
    const block = data.subarray(i, i + BLOCK);
    const zero = block.equals(ZEROS.subarray(0, block.length));
    if (!zero && run < 0) run = i;
    if (zero && run >= 0) {
      await fh.write(data, run, Math.min(i, data.length) - run, offset + run);
      run = -1;
    }
  }
}

/**
 * Reads a `raw+size` stream into `fh`, a fresh empty file: sets the file's size from the
 * header, then writes only the blocks that are not all zero (the file stays sparse; holes
 * read as zeros). Returns the size in bytes.
 *
 * @throws ParseError when the stream ends before its header or carries fewer or more bytes
 *   than the header announces. The caller removes the file.
 */
export async function importRawSize(stream: Readable, fh: FileHandle, signal?: AbortSignal): Promise<number> {
  let size = -1;
  let offset = 0;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    signal?.throwIfAborted();
    pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
    if (size < 0) {
      if (pending.length < 8) continue;
      const header = pending.readBigUInt64LE(0);
      if (header > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError('raw+size stream', `size header ${header} is too large`);
      size = Number(header);
      await fh.truncate(size);
      pending = pending.subarray(8);
    }
    if (offset + pending.length > size) throw new ParseError('raw+size stream', `carries more than the ${size} bytes its header announces`);
    // Write whole blocks now; keep the tail so that block boundaries stay aligned.
    const whole = pending.length - (pending.length % BLOCK);
    await writeSparse(fh, pending.subarray(0, whole), offset);
    offset += whole;
    pending = pending.subarray(whole);
  }
  if (size < 0) throw new ParseError('raw+size stream', 'ended before its 8-byte size header');
  await writeSparse(fh, pending, offset);
  offset += pending.length;
  if (offset !== size) throw new ParseError('raw+size stream', `ended after ${offset} of ${size} bytes`);
  await fh.sync();
  return size;
}

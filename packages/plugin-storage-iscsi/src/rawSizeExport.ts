import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ParseError, encodeSizeHeader, endStream, writeChunk, type StorageContext } from '@corral/core';

/** Bytes copied per `qemu-img dd` run of {@link exportQemuRawSize}: the most its temporary file holds. */
export const EXPORT_CHUNK_BYTES = 64 * 1024 * 1024;
const BLOCK = 64 * 1024;

/** Streams exactly `length` bytes of a file or block device into `stream` (not ending it). */
export async function pumpFile(path: string, length: number, stream: Writable, signal?: AbortSignal): Promise<void> {
  let n = 0;
  if (length > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1024 * 1024, signal })) {
      await writeChunk(stream, chunk as Buffer);
      n += (chunk as Buffer).length;
    }
  }
  if (n !== length) throw new ParseError(path, `read ${n} bytes, the volume has ${length}`);
}

/**
 * Writes a `raw+size` stream of a volume QEMU reaches by URL (`iscsi://...`): the 8-byte size
 * header, then the bytes, read with `qemu-img dd` in chunks of {@link EXPORT_CHUNK_BYTES}
 * through a private temporary file under `ctx.runDir` (QEMU 7.2's `qemu-img dd` cannot write
 * to a pipe, the reason Proxmox's own `qemu-img dd` export to stdout fails there), then ends
 * `stream`. The temporary directory is removed whatever happens.
 */
export async function exportQemuRawSize(ctx: StorageContext, url: string, sizeBytes: number, stream: Writable): Promise<void> {
  await writeChunk(stream, encodeSizeHeader(sizeBytes));
  await mkdir(ctx.runDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.runDir, 'export-'));
  try {
    const chunkBlocks = EXPORT_CHUNK_BYTES / BLOCK;
    for (let offset = 0; offset < sizeBytes; offset += EXPORT_CHUNK_BYTES) {
      const file = join(dir, 'chunk');
      const length = Math.min(EXPORT_CHUNK_BYTES, sizeBytes - offset);
      await ctx.runner.run(
        // qemu-img dd counts `count` from the start of the input, skipped blocks included.
        ['qemu-img', 'dd', '-f', 'raw', '-O', 'raw', `bs=${BLOCK}`, `skip=${offset / BLOCK}`, `count=${offset / BLOCK + chunkBlocks}`, `if=${url}`, `of=${file}`],
        { signal: ctx.signal },
      );
      await pumpFile(file, length, stream, ctx.signal);
      await rm(file, { force: true });
    }
    await endStream(stream);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

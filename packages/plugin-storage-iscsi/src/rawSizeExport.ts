import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { encodeSizeHeader, endStream, writeChunk, type StorageContext, writeFileBytes } from '@corral/core';

/** Bytes copied per `qemu-img dd` run of {@link exportQemuRawSize}: the most its temporary file holds. */
export const EXPORT_CHUNK_BYTES = 64 * 1024 * 1024;
const BLOCK = 64 * 1024;


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
      await writeFileBytes(file, stream, { length, signal: ctx.signal });
      await rm(file, { force: true });
    }
    await endStream(stream);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { close, open, read, stat, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ParseError, type CommandRunner, type VolumeFormat } from '@corral/core';
import type { ImageHeaderCache, ImageHeaderFacts } from './ImageHeaderCache.js';

/** Size facts of one image file (or subvol directory). Sizes in bytes. */
export interface ImageFileInfo {
  /** Virtual size (raw: file size; qcow2/vmdk: the guest-visible size; subvol: the quota). */
  readonly sizeBytes: number;
  /** Bytes the file occupies on disk. */
  readonly usedBytes: number;
  /** Backing file as written in the image (`../100/base-100-disk-0.qcow2`), if any. */
  readonly backingFile?: string;
  /** Change time, seconds since the epoch. */
  readonly ctime: number;
}

const QCOW2_MAGIC = 0x514649fb;
/**
 * Bytes read at offset 0: the header (104 or 112 bytes), its extensions and, in images as
 * qemu-img writes them, the backing file name (usually near offset 0x200), in one read.
 */
const QCOW2_HEAD_READ_BYTES = 2048;
/** A qcow2 backing file name is at most 1023 bytes (QEMU's limit). */
const MAX_BACKING_NAME = 1023;

// The callback fs API wrapped in promises: a listing does thousands of these, and this
// path costs less than fs/promises (no FileHandle objects to create and close).
const statP = promisify(stat);
const openP = promisify(open);
const closeP = promisify(close);
const readP = (fd: number, buffer: Buffer, position: number): Promise<number> =>
  new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))));

/**
 * Reads a qcow2 header (docs/interop/qcow2.txt: magic at 0, backing_file_offset u64 at 8,
 * backing_file_size u32 at 16, size u64 at 24, all big-endian). Listing 1,000 images this
 * way costs file reads, not 1,000 `qemu-img info` processes: one open, usually one read of
 * `QCOW2_HEAD_READ_BYTES` (a second one when the backing name lies beyond), one close.
 *
 * @throws ParseError when the file is not qcow2.
 */
export async function readQcow2Header(path: string): Promise<ImageHeaderFacts> {
  const fd = await openP(path, 'r');
  try {
    const head = Buffer.allocUnsafe(QCOW2_HEAD_READ_BYTES);
    const bytesRead = await readP(fd, head, 0);
    if (bytesRead < 32 || head.readUInt32BE(0) !== QCOW2_MAGIC) throw new ParseError(path, 'not a qcow2 image (bad magic)');
    const version = head.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw new ParseError(path, `unsupported qcow2 version ${version}`);
    const backingOffset = head.readBigUInt64BE(8);
    const backingSize = head.readUInt32BE(16);
    const sizeBytes = Number(head.readBigUInt64BE(24));
    if (backingOffset === 0n || backingSize === 0) return { sizeBytes };
    if (backingSize > MAX_BACKING_NAME) throw new ParseError(path, `backing file name of ${backingSize} bytes`);
    const start = Number(backingOffset);
    if (start + backingSize <= bytesRead) return { sizeBytes, backingFile: head.toString('utf8', start, start + backingSize) };
    const name = Buffer.alloc(backingSize);
    await readP(fd, name, start);
    return { sizeBytes, backingFile: name.toString('utf8') };
  } finally {
    await closeP(fd);
  }
}

/** `qemu-img info --output=json` of one image (`-U`: works while a guest has it open). */
export async function qemuImgInfo(runner: CommandRunner, path: string, format: VolumeFormat, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const res = await runner.run(['qemu-img', 'info', '-U', '--output=json', '-f', format, path], { timeoutMs: 30_000, signal });
  try {
    return JSON.parse(res.stdout) as Record<string, unknown>;
  } catch (err) {
    throw new ParseError(`qemu-img info ${path}`, 'output is not JSON', undefined, { cause: err });
  }
}

/**
 * Size, usage and backing file of an image file; for a subvol directory the quota kept in
 * `quotaPath` (0 when none). Raw sizes come from `stat`, qcow2 from its header, vmdk from
 * `qemu-img info`. With `headerCache`, the header facts of a qcow2/vmdk file that has not
 * changed since they were read are taken from the cache (one `stat`, no open);
 * `headerSettleMs` is the cache's settle time for this file (see `headerSettleMs()` in ImageHeaderCache.ts).
 * Throws the fs error (ENOENT...) when the file is missing.
 */
export async function imageFileInfo(
  runner: CommandRunner,
  path: string,
  format: VolumeFormat,
  options: { quotaPath?: string; signal?: AbortSignal; headerCache?: ImageHeaderCache; headerSettleMs?: number } = {},
): Promise<ImageFileInfo> {
  const statStartedMs = Date.now();
  const st: Stats = await statP(path);
  const base = { usedBytes: st.blocks * 512, ctime: Math.floor(st.ctimeMs / 1000) };
  if (format === 'subvol') {
    if (!st.isDirectory()) throw new ParseError(path, 'a subvol volume must be a directory');
    let quota = 0;
    if (options.quotaPath) {
      try {
        quota = Number((await readFile(options.quotaPath, 'utf8')).trim()) || 0;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return { ...base, sizeBytes: quota };
  }
  if (!st.isFile()) throw new ParseError(path, `a ${format} volume must be a regular file`);
  if (format === 'raw') return { ...base, sizeBytes: st.size };
  const cache = options.headerCache;
  let facts = cache?.get(path, st);
  if (!facts) {
    facts = format === 'qcow2' ? await readQcow2Header(path) : await vmdkFacts(runner, path, format, options.signal);
    cache?.set(path, st, facts, { statStartedMs, settleMs: options.headerSettleMs });
  }
  return facts.backingFile === undefined ? { ...base, sizeBytes: facts.sizeBytes } : { ...base, sizeBytes: facts.sizeBytes, backingFile: facts.backingFile };
}

async function vmdkFacts(runner: CommandRunner, path: string, format: VolumeFormat, signal?: AbortSignal): Promise<ImageHeaderFacts> {
  const info = await qemuImgInfo(runner, path, format, signal);
  const size = info['virtual-size'];
  if (typeof size !== 'number') throw new ParseError(`qemu-img info ${path}`, 'no virtual-size in the output');
  const backing = info['backing-filename'];
  return { sizeBytes: size, backingFile: typeof backing === 'string' ? backing : undefined };
}

import { open, readFile, stat } from 'node:fs/promises';
import { ParseError, type CommandRunner, type VolumeFormat } from '@corral/core';

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
const QCOW2_HEADER_BYTES = 104;
/** A qcow2 backing file name is at most 1023 bytes (QEMU's limit). */
const MAX_BACKING_NAME = 1023;

/**
 * Reads a qcow2 header (docs/interop/qcow2.txt: magic at 0, backing_file_offset u64 at 8,
 * backing_file_size u32 at 16, size u64 at 24, all big-endian). Listing 1,000 images this
 * way costs file reads, not 1,000 `qemu-img info` processes.
 *
 * @throws ParseError when the file is not qcow2.
 */
export async function readQcow2Header(path: string): Promise<{ sizeBytes: number; backingFile?: string }> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(QCOW2_HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < 32 || head.readUInt32BE(0) !== QCOW2_MAGIC) throw new ParseError(path, 'not a qcow2 image (bad magic)');
    const version = head.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw new ParseError(path, `unsupported qcow2 version ${version}`);
    const backingOffset = head.readBigUInt64BE(8);
    const backingSize = head.readUInt32BE(16);
    const sizeBytes = Number(head.readBigUInt64BE(24));
    if (backingOffset === 0n || backingSize === 0) return { sizeBytes };
    if (backingSize > MAX_BACKING_NAME) throw new ParseError(path, `backing file name of ${backingSize} bytes`);
    const name = Buffer.alloc(backingSize);
    await fh.read(name, 0, backingSize, Number(backingOffset));
    return { sizeBytes, backingFile: name.toString('utf8') };
  } finally {
    await fh.close();
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
 * `qemu-img info`. Throws the fs error (ENOENT...) when the file is missing.
 */
export async function imageFileInfo(
  runner: CommandRunner,
  path: string,
  format: VolumeFormat,
  options: { quotaPath?: string; signal?: AbortSignal } = {},
): Promise<ImageFileInfo> {
  const st = await stat(path);
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
  if (format === 'qcow2') return { ...base, ...(await readQcow2Header(path)) };
  const info = await qemuImgInfo(runner, path, format, options.signal);
  const size = info['virtual-size'];
  if (typeof size !== 'number') throw new ParseError(`qemu-img info ${path}`, 'no virtual-size in the output');
  const backing = info['backing-filename'];
  return { ...base, sizeBytes: size, backingFile: typeof backing === 'string' ? backing : undefined };
}

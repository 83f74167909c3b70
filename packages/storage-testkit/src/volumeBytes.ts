/**
 * Reads and writes test patterns through whatever a driver's `resolve` answered: a raw file or
 * block device (node's fs), an image file in another format or a QEMU protocol URL
 * (`qemu-io`), or a directory (a marker file). This is how the conformance suite checks that
 * snapshots, clones and copies carry the BYTES, not just the metadata.
 *
 * @packageDocumentation
 */
import { open, readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandRunner, VolumeAccess } from '@corral/core';

/** A run of one repeated byte: `length` bytes of `byte` at `offset` (bytes). */
export interface BytePattern {
  readonly offset: number;
  readonly length: number;
  /** 0..255. */
  readonly byte: number;
}

/** One MiB, the unit of every pattern the suite writes. */
export const MiB = 1024 * 1024;

/** Where bytes go: a path for node's fs (raw file, block device), or a qemu-io target. */
function byteTarget(access: VolumeAccess): { fsPath: string } | { format: string; target: string } {
  if (access.kind === 'directory') throw new Error('a directory volume has no bytes: use the marker-file helpers');
  if (access.kind === 'qemu') return { format: access.format, target: access.url };
  if (access.kind === 'file' && access.format !== 'raw') return { format: access.format, target: access.path };
  return { fsPath: access.path };
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * Writes `pattern` into an image volume. Raw files and block devices are written with node's
 * fs (and fsynced); other formats and QEMU URLs with `qemu-io -c 'write -P <byte> <off> <len>'`
 * through `runner`. Throws for a `directory` access (use {@link writeMarkerFile}).
 */
export async function writePattern(runner: CommandRunner, access: VolumeAccess, pattern: BytePattern): Promise<void> {
  const q = byteTarget(access);
  if ('target' in q) {
    await runner.run(['qemu-io', '-f', q.format, '-c', `write -P ${hex(pattern.byte)} ${pattern.offset} ${pattern.length}`, q.target], {
      timeoutMs: 120_000,
    });
    return;
  }
  const fh = await open(q.fsPath, 'r+');
  try {
    await fh.write(Buffer.alloc(pattern.length, pattern.byte), 0, pattern.length, pattern.offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * True when the volume holds `pattern` (every byte equal). Uses the same tools as
 * {@link writePattern}; `qemu-io`'s `read -P` exits 1 on a mismatch.
 */
export async function hasPattern(runner: CommandRunner, access: VolumeAccess, pattern: BytePattern): Promise<boolean> {
  const q = byteTarget(access);
  if ('target' in q) {
    const res = await runner.run(['qemu-io', '-r', '-f', q.format, '-c', `read -P ${hex(pattern.byte)} ${pattern.offset} ${pattern.length}`, q.target], {
      timeoutMs: 120_000,
      okExitCodes: [0, 1],
    });
    return res.exitCode === 0 && !/verification failed|error|failed/i.test(res.stdout + res.stderr);
  }
  const fh = await open(q.fsPath, 'r');
  try {
    const buf = Buffer.alloc(pattern.length);
    const { bytesRead } = await fh.read(buf, 0, pattern.length, pattern.offset);
    return bytesRead === pattern.length && buf.equals(Buffer.alloc(pattern.length, pattern.byte));
  } finally {
    await fh.close();
  }
}

/** Writes `content` to `relPath` inside a directory volume (creating parent directories). */
export async function writeMarkerFile(access: VolumeAccess, relPath: string, content: string): Promise<void> {
  if (access.kind !== 'directory') throw new Error(`writeMarkerFile needs a directory volume, got '${access.kind}'`);
  const p = join(access.path, relPath);
  await mkdir(dirname(p), { recursive: true });
  await writeFile(p, content);
}

/** The content of `relPath` inside a directory volume, or undefined when the file is absent. */
export async function readMarkerFile(access: VolumeAccess, relPath: string): Promise<string | undefined> {
  if (access.kind !== 'directory') throw new Error(`readMarkerFile needs a directory volume, got '${access.kind}'`);
  try {
    return await readFile(join(access.path, relPath), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { ParseError } from '../../errors.js';
import type { VolumeFormat } from '../../contracts/storage.js';
import type { ShareContext } from './ShareContext.js';

/** `qemu-img info` runs at most this long, ms. */
const QEMU_IMG_INFO_TIMEOUT_MS = 60_000;

/** Sizes and backing file of one image file. Bytes. */
export interface ImageFileFacts {
  readonly sizeBytes: number;
  readonly usedBytes: number;
  /** The backing file as recorded in a qcow2 (`../100/base-100-disk-0.raw`), if any. */
  readonly backingFile?: string;
  /** Modification time, seconds since the epoch. */
  readonly mtime: number;
}

/**
 * Reads an image file's facts: a raw file from `stat`, a qcow2 from
 * `qemu-img info -U --output=json -f qcow2 <path>` (virtual size, backing file; `-U`: a
 * running guest or a concurrent writer holds the image lock, and reading the header is safe).
 *
 * @throws the fs error (ENOENT for a missing file) or `CommandFailedError`; `ParseError` for
 *   unreadable qemu-img output.
 */
export async function imageFileFacts(nc: ShareContext, path: string, format: VolumeFormat): Promise<ImageFileFacts> {
  const st = await stat(path);
  const base = {
    usedBytes: st.blocks * 512,
    mtime: Math.floor(st.mtimeMs / 1000),
  };
  if (format !== 'qcow2') return { ...base, sizeBytes: st.size };
  const res = await nc.runner.run(['qemu-img', 'info', '-U', '--output=json', '-f', 'qcow2', path], { timeoutMs: QEMU_IMG_INFO_TIMEOUT_MS, signal: nc.signal });
  let info: { 'virtual-size'?: unknown; 'backing-filename'?: unknown };
  try {
    info = JSON.parse(res.stdout) as typeof info;
  } catch (err) {
    throw new ParseError('qemu-img info', `not JSON for '${path}'`, undefined, {
      cause: err,
    });
  }
  if (typeof info['virtual-size'] !== 'number') throw new ParseError('qemu-img info', `no virtual-size for '${path}'`);
  const backing = typeof info['backing-filename'] === 'string' ? info['backing-filename'] : undefined;
  return {
    ...base,
    sizeBytes: info['virtual-size'],
    ...(backing ? { backingFile: backing } : {}),
  };
}

/**
 * The base a linked clone's backing file names, as `{ vmid, name }`, when it is Proxmox's
 * relative form `../<basevmid>/<basefile>` (or an absolute path ending in `<basevmid>/<basefile>`).
 */
export function backingBase(backingFile: string | undefined): { vmid: number; name: string } | undefined {
  if (!backingFile) return undefined;
  const name = basename(backingFile);
  const vmid = basename(dirname(backingFile));
  if (!/^[1-9]\d*$/.test(vmid) || !name.startsWith('base-')) return undefined;
  return { vmid: Number(vmid), name };
}

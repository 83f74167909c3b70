/**
 * `raw+size` export and import of lvm/lvmthin volumes through the LV's device node: the size
 * header (the LV size in bytes), then the bytes. Imports write every byte on lvm (a plain LV
 * holds old data) and only non-zero 64 KiB blocks on lvmthin (a new thin LV reads zeros), as
 * Proxmox's `dd` and `dd conv=sparse`.
 *
 * @packageDocumentation
 */
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import {
  NotSupportedError,
  ParseError,
  copySizedBody,
  encodeSizeHeader,
  endStream,
  readSizeHeader,
  writeChunk,
  type TransferFormat,
  writeFileBytes,
  type ImportVolumeOptions,
} from '@corral/core';
import { activateLv, activateLvmVolume } from './lvmAccess.js';
import { allocateLvmVolume, assertLvAbsent, checkNewName, removeLv, volumeLv } from './lvmVolumes.js';
import { thinSnapshotLv } from './lvmVolname.js';
import type { LvmSession } from './LvmSession.js';

/**
 * Writes a volume (or, on lvmthin, a snapshot of it) as `raw+size` and ends the stream.
 *
 * @throws NotSupportedError (other formats), NotFoundError, UnavailableError (no device node).
 */
export async function exportLvmVolume(s: LvmSession, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
  if (options.format !== 'raw+size') throw new NotSupportedError('export', `${s.type} storage exports raw+size only, not '${options.format}'`);
  const lv = await volumeLv(s, volname);
  const size = options.snapshot === undefined ? lv.sizeBytes : ((await s.findLv(thinSnapshotLv(volname, options.snapshot)))?.sizeBytes ?? lv.sizeBytes);
  const path = await activateLvmVolume(s, volname, options.snapshot);
  await writeChunk(options.stream, encodeSizeHeader(size));
  await writeFileBytes(path, options.stream, { length: size, signal: s.ctx.signal });
  await endStream(options.stream);
}

/** Options of {@link importLvmVolume}: those of the contract's `importVolume`. */
export type LvmImportOptions = ImportVolumeOptions;

/**
 * Creates volume `name` from a `raw+size` stream. A failed import removes the LV it created.
 * Returns the volname.
 *
 * @throws NotSupportedError, AlreadyExistsError, StorageFullError, ParseError (short or long stream).
 */
export async function importLvmVolume(s: LvmSession, options: LvmImportOptions): Promise<string> {
  if (options.format !== 'raw+size') throw new NotSupportedError('import', `${s.type} storage imports raw+size only, not '${options.format}'`);
  const v = checkNewName(s, options.name, options.volumeFormat, options.vmid);
  await assertLvAbsent(s, v.name);
  const body = await readSizeHeader(options.stream, options.format);
  await allocateLvmVolume(s, { vmid: options.vmid, name: v.name, format: 'raw', sizeBytes: Math.max(body.sizeBytes, 1), content: options.content });
  try {
    const path = await activateLv(s, v.name, '-', s.volid(v.name));
    const fh = await open(path, 'r+');
    try {
      if (s.type === 'lvmthin') {
        await copySizedBody(body, async (offset, data) => void (await fh.write(data, 0, data.length, offset)), { format: options.format, signal: s.ctx.signal });
      } else {
        let offset = 0;
        for (let chunk = await body.next(); chunk; chunk = await body.next()) {
          s.ctx.signal?.throwIfAborted();
          if (offset + chunk.length > body.sizeBytes) throw new ParseError('raw+size stream', `longer than its header's ${body.sizeBytes} bytes`);
          await fh.write(chunk, 0, chunk.length, offset);
          offset += chunk.length;
        }
        if (offset !== body.sizeBytes) throw new ParseError('raw+size stream', `ended after ${offset} of ${body.sizeBytes} bytes`);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    return v.name;
  } catch (err) {
    await removeLv(s, v.name, s.volid(v.name)).catch((e: unknown) => s.ctx.log.warn(`storage '${s.sid}': could not remove '${s.vg}/${v.name}' after a failed import: ${(e as Error).message}`));
    throw err;
  }
}

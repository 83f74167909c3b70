/**
 * `raw+size` streams of a mounted-share storage (nfs, cifs, glusterfs) (pve-storage's `volume_export`/`volume_import` for
 * file storages): an 8-byte little-endian virtual size, then every byte of the image. Raw
 * files are read and written directly on the mount; a qcow2 goes through a sparse raw file in
 * the storage's run directory (`qemu-img convert`, which cannot write to a pipe).
 *
 * @packageDocumentation
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { InvalidArgumentError, NotSupportedError } from '../../errors.js';
import { encodeSizeHeader, endStream, readSizeHeader, writeChunk, writeFileBytes, writeSizedBodyToNewFile } from '../transferStreams.js';
import { withReverter } from '../../util/Reverter.js';
import type { TransferFormat, ImportVolumeOptions } from '../../contracts/storage.js';
import type { ShareContext } from './ShareContext.js';
import { mapShareError } from './shareErrors.js';
import { claimNewImage, existingImage, shareImageFileName, QEMU_IMG_TIMEOUT_MS } from './shareImages.js';
import { imageFileFacts } from './imageFileFacts.js';

async function withScratchDir<T>(nc: ShareContext, fn: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(nc.runDir, { recursive: true });
  const dir = await mkdtemp(join(nc.runDir, 'share-transfer-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}


/**
 * Writes an image to `stream` as `raw+size`.
 *
 * @throws NotFoundError; NotSupportedError for another format or a snapshot.
 */
export async function exportShareVolume(
  nc: ShareContext,
  volname: string,
  options: { format: TransferFormat; stream: Writable; snapshot?: string }
): Promise<void> {
  const { format, stream, snapshot } = options;
  if (format !== 'raw+size') throw new NotSupportedError('export', `a share storage exports raw+size, not '${format}'`);
  if (snapshot !== undefined) throw new NotSupportedError('export', `a share storage cannot export snapshot '${snapshot}'`);
  const v = await existingImage(nc, volname);
  const path = nc.layout.pathOf(v);
  const send = async (rawPath: string, sizeBytes: number) => {
    await writeChunk(stream, encodeSizeHeader(sizeBytes));
    await writeFileBytes(rawPath, stream, { length: sizeBytes, signal: nc.signal });
    await endStream(stream);
  };
  if (v.format === 'raw') return send(path, (await stat(path)).size);
  const facts = await imageFileFacts(nc, path, 'qcow2');
  await withScratchDir(nc, async (dir) => {
    const raw = join(dir, 'export.raw');
    await nc.runner.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', path, raw], { timeoutMs: QEMU_IMG_TIMEOUT_MS, signal: nc.signal });
    await send(raw, facts.sizeBytes);
  });
}

/** Writes the body of a `raw+size` stream into a new sparse raw file. */
async function writeSparseRaw(nc: ShareContext, path: string, stream: Readable): Promise<void> {
  await writeSizedBodyToNewFile(path, await readSizeHeader(stream, 'raw+size'), { format: 'raw+size', signal: nc.signal });
}

/**
 * Creates image `<vmid>/<name>.<raw|qcow2>` from a `raw+size` stream; returns its volname.
 * Undoes its file on failure.
 *
 * @throws AlreadyExistsError, StorageFullError, ParseError (short or long stream), NotSupportedError.
 */
export async function importShareVolume(nc: ShareContext, options: ImportVolumeOptions): Promise<string> {
  if (options.format !== 'raw+size') throw new NotSupportedError('import', `a share storage imports raw+size, not '${options.format}'`);
  if (options.content !== 'images') throw new InvalidArgumentError('content', `a share storage imports images, not '${options.content}'`);
  const file = shareImageFileName(options.name, options.volumeFormat);
  return withReverter(async (revert) => {
    const { volname, path } = await claimNewImage(nc, revert, options.vmid, file);
    try {
      if (options.volumeFormat === 'raw') {
        await writeSparseRaw(nc, path, options.stream);
      } else {
        await withScratchDir(nc, async (dir) => {
          const raw = join(dir, 'import.raw');
          await writeSparseRaw(nc, raw, options.stream);
          await nc.runner.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, path], { timeoutMs: QEMU_IMG_TIMEOUT_MS, signal: nc.signal });
        });
      }
    } catch (err) {
      throw await mapShareError(err, { storage: nc.sid, path: nc.options.path });
    }
    return volname;
  });
}

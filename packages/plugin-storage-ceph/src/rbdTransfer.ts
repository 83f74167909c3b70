/**
 * Export and import streams of an rbd storage, format `raw+size` only (as Proxmox's
 * RBDPlugin): an 8-byte little-endian size header, then the image's bytes streamed through
 * `rbd export --export-format 1 <spec> -` / `rbd import --export-format 1 - <spec>`.
 *
 * @packageDocumentation
 */
import { Transform, type Writable } from 'node:stream';
import { AlreadyExistsError, NotSupportedError, ParseError, type TransferFormat, type ImportVolumeOptions } from '@corral/core';
import { parseRbdVolname } from './rbdVolname.js';
import { checkNewName, freeRbdVolume, rbdImageExists, rbdImageInfo } from './rbdVolumes.js';
import { encodeSizeHeader, readSizeHeader, writeChunk } from '@corral/core';
import type { RbdSession } from './RbdSession.js';

/**
 * Writes an image (or a snapshot of it) to `stream` as `raw+size` and ends the stream.
 *
 * @throws NotFoundError (image or snapshot), NotSupportedError (another format).
 */
export async function exportRbdVolume(s: RbdSession, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
  if (options.format !== 'raw+size') throw new NotSupportedError('export', `rbd storage cannot export '${options.format}'`);
  const v = parseRbdVolname(volname);
  const info = await rbdImageInfo(s, v, options.snapshot);
  await writeChunk(options.stream, encodeSizeHeader(info.size));
  await s.run(s.cmd.export(v.name, options.snapshot), { volid: s.volid(volname), snapshot: options.snapshot }, { stdoutStream: options.stream, timeoutMs: undefined });
}

/** Passes exactly `limit` bytes on; more is an error; `count` says how many went through. */
class ExactLength extends Transform {
  count = 0;
  tooLong = false;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.count += chunk.length;
    if (this.count > this.limit) {
      this.tooLong = true;
      done(new ParseError('raw+size stream', `carries more than the ${this.limit} bytes its header announces`));
      return;
    }
    done(null, chunk);
  }
}

/** Options of {@link importRbdVolume}. */
export type RbdImportOptions = ImportVolumeOptions;

/**
 * Creates image `name` from a `raw+size` stream (`rbd import` sizes the image by the bytes it
 * reads; zero runs stay sparse). A stream shorter or longer than its header is refused and the
 * image removed. Returns the volname.
 *
 * @throws NotSupportedError, AlreadyExistsError, ParseError, StorageFullError, UnavailableError.
 */
export async function importRbdVolume(s: RbdSession, options: RbdImportOptions): Promise<string> {
  if (options.format !== 'raw+size') throw new NotSupportedError('import', `rbd storage cannot import '${options.format}'`);
  const v = checkNewName(options.name, options.volumeFormat, options.vmid);
  const volid = s.volid(v.name);
  if (await rbdImageExists(s, v.name)) throw new AlreadyExistsError('volume', volid);
  const body = await readSizeHeader(options.stream, options.format);
  const exact = new ExactLength(body.sizeBytes);
  const source = body.rest();
  source.on('error', (err) => exact.destroy(err));
  source.pipe(exact);
  let started = false;
  try {
    started = true;
    await s.run(s.cmd.import(v.name, s.opts.dataPool), { volid, requestedBytes: body.sizeBytes }, { stdinStream: exact, timeoutMs: undefined });
    if (exact.tooLong) throw new ParseError('raw+size stream', `carries more than the ${body.sizeBytes} bytes its header announces`);
    if (exact.count !== body.sizeBytes) throw new ParseError('raw+size stream', `ended after ${exact.count} of ${body.sizeBytes} bytes`);
    return v.name;
  } catch (err) {
    if (started && (await rbdImageExists(s, v.name).catch(() => false))) {
      await freeRbdVolume(s, v.name).catch((e: unknown) => s.ctx.log.warn(`could not remove '${volid}' after a failed import: ${(e as Error).message}`));
    }
    throw err;
  }
}

/**
 * Export and import streams of a dir storage (pve-storage's `volume_export`/`volume_import`
 * for path-based storages):
 *
 * - `raw+size`: 8-byte LE virtual size, then every byte of the image. Raw files are read
 *   directly; qcow2/vmdk (and qcow2 snapshots) are read through `qemu-nbd`, because
 *   `qemu-img convert` cannot write to a pipe. Imports write only non-zero 64 KiB blocks
 *   (into a sparse raw file, or through `qemu-nbd` into a fresh qcow2/vmdk).
 * - `qcow2+size`: virtual size, then the qcow2 file as it is (with its internal snapshots);
 *   only for qcow2 volumes without a backing file. Imports are checked with `qemu-img info`
 *   and refused when they carry a backing or data file, and with `qemu-img check`, refused
 *   when damaged (a stream cut short).
 * - `tar+size`: quota (0 = none), then a GNU tar of the subvol's contents with pve's flags.
 *
 * @packageDocumentation
 */
import { mkdir, open, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotSupportedError,
  ParseError,
  type TransferFormat,
  type VolumeFormat,
  COMMON_TAR_FLAGS,
  copySizedBody,
  encodeSizeHeader,
  endStream,
  readSizeHeader,
  writeChunk,
  type SizedStreamBody,
  writeFileBytes,
  writeSizedBodyToNewFile,
  type ImportVolumeOptions,
} from '@corral/core';
import type { Writable } from 'node:stream';
import { volidOf, type DirContext } from './DirContext.js';
import { dirVolumeInfo, parseImage, preallocationArgs } from './dirImages.js';
import { qemuImgInfo } from './imageFileInfo.js';
import { imageFileName } from './imageFileName.js';
import { NBD_MAX_REQUEST_BYTES } from './NbdClient.js';
import { mapStorageError } from './storageErrors.js';
import { withNbdExport } from './withNbdExport.js';


/**
 * Writes volume `volname` (or its qcow2 snapshot) to `stream` in `format` and ends the stream.
 *
 * @throws NotSupportedError for a format that does not fit the volume (see the module doc).
 */
export async function exportDirVolume(
  dc: DirContext,
  volname: string,
  options: { format: TransferFormat; stream: Writable; snapshot?: string },
): Promise<void> {
  const v = parseImage(dc, volname, 'export');
  const volid = volidOf(dc, volname);
  const info = await dirVolumeInfo(dc, volname);
  const path = dc.layout.pathOf(v);
  const { format, stream, snapshot } = options;
  if (snapshot !== undefined && v.format !== 'qcow2') {
    throw new NotSupportedError('export', `'${volid}' is ${v.format}: only qcow2 volumes have snapshots on dir storage`);
  }
  if (format === 'raw+size') {
    if (v.format === 'subvol') throw new NotSupportedError('export', `'${volid}' is a subvol: export it as tar+size`);
    if (v.format === 'raw') {
      await writeChunk(stream, encodeSizeHeader(info.sizeBytes));
      await writeFileBytes(path, stream, { length: info.sizeBytes, signal: dc.signal });
      await endStream(stream);
      return;
    }
    await withNbdExport(dc.runner, { path, format: v.format, readOnly: true, snapshot, socketDir: dc.runDir, signal: dc.signal }, async (client) => {
      await writeChunk(stream, encodeSizeHeader(client.sizeBytes));
      for (let off = 0; off < client.sizeBytes; off += NBD_MAX_REQUEST_BYTES) {
        dc.signal?.throwIfAborted();
        await writeChunk(stream, await client.read(off, Math.min(NBD_MAX_REQUEST_BYTES, client.sizeBytes - off)));
      }
    });
    await endStream(stream);
    return;
  }
  if (format === 'qcow2+size') {
    if (v.format !== 'qcow2') throw new NotSupportedError('export', `'${volid}' is ${v.format}, not qcow2`);
    if (snapshot !== undefined) throw new NotSupportedError('export', 'qcow2+size carries every snapshot; export a single snapshot as raw+size');
    if (info.parent) throw new NotSupportedError('export', `'${volid}' is a linked clone of '${info.parent}': export it as raw+size`);
    await writeChunk(stream, encodeSizeHeader(info.sizeBytes));
    await writeFileBytes(path, stream, { signal: dc.signal });
    await endStream(stream);
    return;
  }
  if (format === 'tar+size') {
    if (v.format !== 'subvol') throw new NotSupportedError('export', `'${volid}' is ${v.format}: tar+size is for subvols`);
    await writeChunk(stream, encodeSizeHeader(info.sizeBytes));
    await dc.runner.run(['tar', ...COMMON_TAR_FLAGS, '-cf', '-', '-C', path, '.'], { stdoutStream: stream, signal: dc.signal });
    return;
  }
  throw new NotSupportedError('export', `dir storage cannot export '${format}'`);
}

/** Which stream formats fill which volume formats. */
function checkPair(format: TransferFormat, volumeFormat: VolumeFormat): void {
  const ok =
    (format === 'raw+size' && ['raw', 'qcow2', 'vmdk'].includes(volumeFormat)) ||
    (format === 'qcow2+size' && volumeFormat === 'qcow2') ||
    (format === 'tar+size' && volumeFormat === 'subvol');
  if (!ok) throw new NotSupportedError('import', `dir storage cannot import '${format}' into a ${volumeFormat} volume`);
}

async function importThroughNbd(dc: DirContext, path: string, volumeFormat: VolumeFormat, body: SizedStreamBody): Promise<void> {
  await dc.runner.run(['qemu-img', 'create', ...preallocationArgs(volumeFormat, dc.options.preallocation), '-f', volumeFormat, path, String(body.sizeBytes)], {
    timeoutMs: 120_000,
    signal: dc.signal,
  });
  await withNbdExport(dc.runner, { path, format: volumeFormat, readOnly: false, socketDir: dc.runDir, signal: dc.signal }, async (client) => {
    if (client.sizeBytes < body.sizeBytes) throw new ParseError(path, `image has ${client.sizeBytes} bytes, the stream ${body.sizeBytes}`);
    await copySizedBody(
      body,
      async (offset, data) => {
        for (let i = 0; i < data.length; i += NBD_MAX_REQUEST_BYTES) {
          await client.write(offset + i, data.subarray(i, Math.min(data.length, i + NBD_MAX_REQUEST_BYTES)));
        }
      },
      { format: 'raw+size', signal: dc.signal },
    );
    await client.flush();
  });
}

async function importQcow2File(dc: DirContext, path: string, body: SizedStreamBody): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    let offset = 0;
    for (let c = await body.next(); c; c = await body.next()) {
      dc.signal?.throwIfAborted();
      await fh.write(c, 0, c.length, offset);
      offset += c.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  const info = await qemuImgInfo(dc.runner, path, 'qcow2', dc.signal);
  const specific = (info['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data;
  if (info.format !== 'qcow2') throw new ParseError('qcow2+size stream', 'the payload is not a qcow2 image');
  if (info['backing-filename'] !== undefined) throw new InvalidArgumentError('stream', 'an imported qcow2 image may not have a backing file');
  if (specific?.['data-file'] !== undefined) throw new InvalidArgumentError('stream', "an imported qcow2 image may not reference a 'data-file'");
  if (info['virtual-size'] !== body.sizeBytes) {
    throw new ParseError('qcow2+size stream', `header says ${body.sizeBytes} bytes, the image has ${String(info['virtual-size'])}`);
  }
  // A stream cut short still has an intact header: only the clusters past the cut are missing.
  const check = await dc.runner.run(['qemu-img', 'check', '-f', 'qcow2', '--output=json', path], { okExitCodes: [0, 1, 2, 3], timeoutMs: 120_000, signal: dc.signal });
  const result = JSON.parse(check.stdout || '{}') as { corruptions?: number; 'check-errors'?: number };
  if (check.exitCode === 1 || check.exitCode === 2 || (result.corruptions ?? 0) > 0 || (result['check-errors'] ?? 0) > 0) {
    throw new ParseError(
      'qcow2+size stream',
      `the imported qcow2 image is damaged (qemu-img check: ${result.corruptions ?? '?'} corruptions, ${result['check-errors'] ?? '?'} check errors): a truncated or corrupt stream`,
    );
  }
}

/**
 * Creates volume `<vmid>/<name>.<volumeFormat>` from `stream`. A failed import removes what
 * it created. Returns the volname.
 *
 * @throws NotSupportedError (format pair), AlreadyExistsError, StorageFullError, ParseError
 *   (short, long or malformed stream), InvalidArgumentError (untrusted qcow2 content).
 */
export async function importDirVolume(dc: DirContext, options: ImportVolumeOptions): Promise<string> {
  if (options.content !== 'images' && options.content !== 'rootdir') {
    throw new InvalidArgumentError('content', `dir storage imports images and rootdir volumes, not '${options.content}'`);
  }
  checkPair(options.format, options.volumeFormat);
  const file = imageFileName(options.name, options.volumeFormat);
  const volname = `${options.vmid}/${file}`;
  const dir = dc.layout.guestDir(options.vmid);
  const path = `${dir}/${file}`;
  await mkdir(dir, { recursive: true });
  if (await stat(path).then(() => true, () => false)) throw new AlreadyExistsError('volume', volidOf(dc, volname));
  let created = false;
  let requested = 0;
  try {
    const body = await readSizeHeader(options.stream, options.format);
    requested = body.sizeBytes;
    created = true;
    if (options.format === 'tar+size') {
      await mkdir(path, { mode: 0o755 });
      await dc.runner.run(['tar', ...COMMON_TAR_FLAGS, '-C', path, '-xf', '-'], { stdinStream: body.rest(), signal: dc.signal });
      if (body.sizeBytes > 0) await writeFile(dc.layout.quotaPath(options.vmid, file), `${body.sizeBytes}\n`);
    } else if (options.format === 'qcow2+size') {
      await importQcow2File(dc, path, body);
    } else if (options.volumeFormat === 'raw') {
      await writeSizedBodyToNewFile(path, body, { format: 'raw+size', signal: dc.signal });
    } else {
      await importThroughNbd(dc, path, options.volumeFormat, body);
    }
    return volname;
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    if (created && !exists) {
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
      await rm(dc.layout.quotaPath(options.vmid, file), { force: true }).catch(() => undefined);
    }
    await rmdir(dir).catch(() => undefined);
    if (exists) throw new AlreadyExistsError('volume', volidOf(dc, volname));
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, requestedBytes: requested });
  }
}

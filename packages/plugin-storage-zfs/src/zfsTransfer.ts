/**
 * Export and import streams of a zfspool storage:
 *
 * - `zfs`: a `zfs send -p` stream of ONE snapshot (full, self-contained, also for a linked
 *   clone); without a snapshot a temporary one (`__corral_xfer_<hex>`) is taken and destroyed
 *   afterwards. Imports `zfs recv` it into a new dataset and drop the snapshots that came
 *   with it, so the new volume starts without history like the other formats.
 * - `raw+size` (zvols): the volsize, then the bytes of `/dev/zvol/<pool>/<name>`; imports
 *   create a zvol and write only non-zero 64 KiB blocks.
 * - `tar+size` (subvols): the refquota (0 = none), then a GNU tar of the mounted directory with
 *   pve's flags; imports create a filesystem with that refquota and unpack into it.
 *
 * A snapshot is exported in `raw+size`/`tar+size` through a temporary clone of it.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotSupportedError,
  ParseError,
  type TransferFormat,
  COMMON_TAR_FLAGS,
  copySizedBody,
  encodeSizeHeader,
  endStream,
  readSizeHeader,
  writeChunk,
  type ImportVolumeOptions,
} from '@corral/core';
import { ZfsCommands } from './ZfsCommands.js';
import { zfsFailure } from './zfsErrors.js';
import { zfsNumber } from './parseZfsGet.js';
import { parseZfsVolname } from './zfsVolname.js';
import { checkNewName, datasetProps, destroyQuietly, destroyWithRetry, zvolSize } from './zfsVolumes.js';
import { ensureMounted, waitForZvol } from './zfsAccess.js';
import type { ZfsSession } from './ZfsSession.js';

/** Prefix of temporary snapshots and clones made by exports (never listed: not a volume name). */
const TEMP_PREFIX = '__corral_xfer_';

function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(4).toString('hex')}`;
}

/** Streams exactly `length` bytes of a file or device into `stream` (not ending it). */
async function pumpDevice(path: string, length: number, stream: Writable, signal?: AbortSignal): Promise<void> {
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
 * Runs `fn` with a temporary clone of `<ds>@<snapshot>` (mounted or with its device link),
 * destroyed afterwards; `fn` gets the clone's name below the pool.
 */
async function withSnapshotClone<T>(s: ZfsSession, name: string, snapshot: string, format: 'raw' | 'subvol', fn: (clone: string) => Promise<T>): Promise<T> {
  const clone = tempName();
  try {
    await s.run(ZfsCommands.clone(`${s.dataset(name)}@${snapshot}`, s.dataset(clone)));
  } catch (err) {
    s.fail(err, { volid: s.volid(name), snapshot });
  }
  try {
    if (format === 'raw') await waitForZvol(s, clone);
    return await fn(clone);
  } finally {
    await destroyQuietly(s, s.dataset(clone));
  }
}

/**
 * Writes a volume (or one of its snapshots) to `stream` in `format` and ends the stream.
 *
 * @throws NotFoundError (volume or snapshot), NotSupportedError (format does not fit the volume).
 */
export async function exportZfsVolume(
  s: ZfsSession,
  volname: string,
  options: { format: TransferFormat; stream: Writable; snapshot?: string },
): Promise<void> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  const { format, stream, snapshot } = options;
  const props = await datasetProps(s, v.name, volid, ['type', 'volsize', 'refquota']);
  if (format === 'zfs') {
    const snap = snapshot ?? tempName();
    const full = `${s.dataset(v.name)}@${snap}`;
    if (snapshot === undefined) {
      try {
        await s.run(ZfsCommands.snapshot(full));
      } catch (err) {
        s.fail(err, { volid });
      }
    }
    try {
      await s.run(ZfsCommands.send(full), { stdoutStream: stream, timeoutMs: undefined });
    } catch (err) {
      s.fail(err, { volid, snapshot: snap });
    } finally {
      if (snapshot === undefined) await destroyWithRetry(s, full).catch((err: unknown) => s.ctx.log.warn(`could not destroy '${full}': ${(err as Error).message}`));
    }
    return;
  }
  if (format === 'raw+size') {
    if (v.format !== 'raw') throw new NotSupportedError('export', `'${volid}' is a subvol: export it as tar+size or zfs`);
    const size = zfsNumber(props.get('volsize')) ?? 0;
    const send = async (name: string) => {
      const path = await waitForZvol(s, name);
      await writeChunk(stream, encodeSizeHeader(size));
      await pumpDevice(path, size, stream, s.ctx.signal);
      await endStream(stream);
    };
    if (snapshot === undefined) await send(v.name);
    else await withSnapshotClone(s, v.name, snapshot, 'raw', send);
    return;
  }
  if (format === 'tar+size') {
    if (v.format !== 'subvol') throw new NotSupportedError('export', `'${volid}' is a zvol: export it as raw+size or zfs`);
    const quota = zfsNumber(props.get('refquota')) ?? 0;
    const send = async (name: string) => {
      const dir = await ensureMounted(s, name, s.volid(name));
      await writeChunk(stream, encodeSizeHeader(quota));
      await s.run(['tar', ...COMMON_TAR_FLAGS, '-cf', '-', '-C', dir, '.'], { stdoutStream: stream, timeoutMs: undefined });
    };
    if (snapshot === undefined) await send(v.name);
    else await withSnapshotClone(s, v.name, snapshot, 'subvol', send);
    return;
  }
  throw new NotSupportedError('export', `zfspool storage cannot export '${format}'`);
}

/** Options of {@link importZfsVolume}. */
export type ZfsImportOptions = ImportVolumeOptions;

/** Free bytes of the storage's dataset (0 when unknown). */
async function poolAvailable(s: ZfsSession): Promise<number> {
  const props = await s.get(['available'], [s.pool]).catch(() => undefined);
  return zfsNumber(props?.get(s.pool)?.get('available')) ?? 0;
}

/** Drops every snapshot a `zfs recv` brought along (the new volume starts without history). */
async function dropReceivedSnapshots(s: ZfsSession, ds: string): Promise<void> {
  const all = await s.get(['type'], [ds], { depth: 1 });
  for (const name of all.keys()) if (name.startsWith(`${ds}@`)) await destroyWithRetry(s, name);
}

/**
 * Creates volume `name` (`vm-<vmid>-...` zvol or `subvol-<vmid>-...` filesystem) from
 * `stream`. A failed import destroys what it created. Returns the volname.
 *
 * @throws NotSupportedError (format pair), AlreadyExistsError, StorageFullError, ParseError
 *   (short or long `*+size` stream), InvalidArgumentError (a `zfs` stream of the other kind).
 */
export async function importZfsVolume(s: ZfsSession, options: ZfsImportOptions): Promise<string> {
  const { format, stream } = options;
  const v = checkNewName(options.name, options.volumeFormat, options.vmid);
  const volid = s.volid(v.name);
  const ds = s.dataset(v.name);
  const fits = format === 'zfs' || (format === 'raw+size' && v.format === 'raw') || (format === 'tar+size' && v.format === 'subvol');
  if (!fits) throw new NotSupportedError('import', `zfspool storage cannot import '${format}' into a ${v.format} volume`);
  const exists = await s.get(['type'], [ds]).then(
    () => true,
    (err: unknown) => (zfsFailure(err) === 'missing' ? false : s.fail(err, { volid })),
  );
  if (exists) throw new AlreadyExistsError('volume', volid);

  let created = false;
  let requested = 0;
  try {
    if (format === 'zfs') {
      created = true;
      await s.run(ZfsCommands.recv(ds), { stdinStream: stream, timeoutMs: undefined });
      const type = (await s.get(['type'], [ds])).get(ds)?.get('type');
      if ((type === 'volume') !== (v.format === 'raw')) {
        throw new InvalidArgumentError('stream', `the zfs stream holds a ${type}, not a ${v.format === 'raw' ? 'zvol' : 'filesystem'}`);
      }
      await dropReceivedSnapshots(s, ds);
      if (v.format === 'subvol') await ensureMounted(s, v.name, volid);
      else await waitForZvol(s, v.name);
      return v.name;
    }
    const body = await readSizeHeader(stream, format);
    if (format === 'tar+size') {
      requested = body.sizeBytes;
      created = true;
      await s.run(ZfsCommands.createFilesystem(ds, { refquotaBytes: body.sizeBytes, posixAcl: await s.posixAclSupported() }));
      const dir = await ensureMounted(s, v.name, volid);
      await s.run(['tar', ...COMMON_TAR_FLAGS, '-C', dir, '-xf', '-'], { stdinStream: body.rest(), timeoutMs: undefined });
      return v.name;
    }
    requested = zvolSize(s, body.sizeBytes);
    created = true;
    await s.run(ZfsCommands.createVolume(ds, { sizeBytes: requested, sparse: s.opts.sparse, blocksize: s.opts.blocksize }));
    const fh = await open(await waitForZvol(s, v.name), 'r+');
    try {
      await copySizedBody(body, async (offset, data) => void (await fh.write(data, 0, data.length, offset)), { format, signal: s.ctx.signal });
      await fh.sync();
    } finally {
      await fh.close();
    }
    return v.name;
  } catch (err) {
    if (created) await destroyQuietly(s, ds);
    const availableBytes = zfsFailure(err) === 'space' ? await poolAvailable(s) : undefined;
    s.fail(err, { volid, requestedBytes: requested, availableBytes });
  }
}

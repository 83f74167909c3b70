/**
 * Export and import streams of a btrfs storage:
 *
 * - `btrfs`: Proxmox's btrfs transfer format, a `btrfs send -e` stream of read-only
 *   snapshots named `<disk>@<snapshot>` (BTRFSPlugin's `volume_export`). An export carries
 *   ONE state: the given snapshot, or the current state through a temporary read-only
 *   snapshot `<subvolume>@__corral_export_<hex>__` deleted afterwards (the contract has no
 *   `with_snapshots`). An import (`btrfs receive -e` into a temporary directory, as
 *   BTRFSPlugin's `volume_import`) takes the LAST subvolume of the stream (the highest
 *   subvolume id) as the current state and keeps every other one as a read-only snapshot of
 *   the new volume; a Proxmox stream with history therefore keeps its older snapshots.
 *   Incremental streams (`-p`) are not supported: the import creates a new volume.
 * - `raw+size` (raw images): the size, then the bytes of `disk.raw`; imports write only
 *   non-zero 64 KiB blocks into a new sparse file.
 * - `tar+size` (subvolumes): the qgroup limit (0 = none), then a GNU tar of the directory
 *   with pve's flags; imports restore the limit on a `quotas` storage.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import {
  AlreadyExistsError,
  COMMON_TAR_FLAGS,
  copySizedBody,
  encodeSizeHeader,
  endStream,
  InvalidArgumentError,
  NotSupportedError,
  ParseError,
  readSizeHeader,
  writeChunk,
  type TransferFormat,
  type VolumeFormat,
  writeFileBytes,
  type ImportVolumeOptions,
} from '@corral/core';
import { BtrfsCommands } from './BtrfsCommands.js';
import { runBtrfs, volidOf, type BtrfsContext } from './BtrfsContext.js';
import { mapNoSpace } from './btrfsErrors.js';
import { setSubvolumeSize } from './btrfsQuota.js';
import { guestVolname } from './btrfsVolname.js';
import {
  createRawFile,
  dropSubvolume,
  guestVolume,
  guestVolumeInfo,
  newDiskName,
  pathExists,
  requireVolume,
  subvolumeOf,
  withNewSubvolume,
} from './btrfsVolumes.js';

/** Proxmox's name pattern of the subvolumes in a btrfs stream (`$BTRFS_SNAPSHOT_REGEX`). */
const STREAM_ENTRY = /^((?:vm|base|subvol)-\d+-disk-\d+(?:\.subvol)?)@(\S+)$/;
/** Snapshot names made for transfers only (never kept by an import). */
const TRANSFER_SNAPSHOT = /^__.*__$/;


/**
 * Writes volume `volname` (or its `snapshot`) to `stream` in `format` and ends the stream.
 *
 * @throws NotSupportedError (a format that does not fit the volume), NotFoundError.
 */
export async function exportVolume(bc: BtrfsContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
  const v = guestVolume(bc, volname, 'export');
  const { format, stream, snapshot } = options;
  await requireVolume(bc, volname, v, snapshot);
  const volid = volidOf(bc, volname);
  if (format === 'btrfs') {
    if (snapshot !== undefined) {
      await bc.runner.run(BtrfsCommands.send([subvolumeOf(bc, v, snapshot)]), { stdoutStream: stream, signal: bc.signal });
      return;
    }
    const temp = subvolumeOf(bc, v, `__corral_export_${randomBytes(4).toString('hex')}__`);
    await runBtrfs(bc, BtrfsCommands.snapshot(subvolumeOf(bc, v), temp, true));
    try {
      await bc.runner.run(BtrfsCommands.send([temp]), { stdoutStream: stream, signal: bc.signal });
    } finally {
      await dropSubvolume(bc, temp);
    }
    return;
  }
  if (format === 'raw+size') {
    if (v.format !== 'raw') throw new NotSupportedError('export', `'${volid}' is a subvol: export it as tar+size or btrfs`);
    const file = bc.layout.rawFile(v.vmid, v.disk, snapshot);
    const fh = await open(file, 'r');
    const size = (await fh.stat()).size;
    await fh.close();
    await writeChunk(stream, encodeSizeHeader(size));
    await writeFileBytes(file, stream, { length: size, signal: bc.signal });
    await endStream(stream);
    return;
  }
  if (format === 'tar+size') {
    if (v.format !== 'subvol') throw new NotSupportedError('export', `'${volid}' is raw: tar+size is for subvols`);
    const info = await guestVolumeInfo(bc, volname);
    await writeChunk(stream, encodeSizeHeader(info.sizeBytes));
    await bc.runner.run(['tar', ...COMMON_TAR_FLAGS, '-cf', '-', '-C', subvolumeOf(bc, v, snapshot), '.'], { stdoutStream: stream, signal: bc.signal });
    return;
  }
  throw new NotSupportedError('export', `btrfs storage cannot export '${format}'`);
}

function checkPair(format: TransferFormat, volumeFormat: VolumeFormat): void {
  const ok =
    format === 'btrfs' ? volumeFormat === 'raw' || volumeFormat === 'subvol' : (format === 'raw+size' && volumeFormat === 'raw') || (format === 'tar+size' && volumeFormat === 'subvol');
  if (!ok) throw new NotSupportedError('import', `btrfs storage cannot import '${format}' into a ${volumeFormat} volume`);
}

/**
 * Creates volume `<vmid>/<name>.<volumeFormat>` from `stream`. A failed import removes what
 * it created. Returns the volname.
 *
 * @throws NotSupportedError (format pair), AlreadyExistsError, StorageFullError, ParseError
 *   (short, long or malformed stream), InvalidArgumentError (a btrfs stream holding something
 *   else than snapshots of one disk of the right format).
 */
export async function importVolume(bc: BtrfsContext, options: ImportVolumeOptions): Promise<string> {
  if (options.content !== 'images' && options.content !== 'rootdir') {
    throw new InvalidArgumentError('content', `btrfs storage imports images and rootdir volumes, not '${options.content}'`);
  }
  checkPair(options.format, options.volumeFormat);
  const disk = newDiskName(options.name, options.volumeFormat);
  const format = options.volumeFormat as 'raw' | 'subvol';
  if (options.format === 'btrfs') return receiveVolume(bc, options.vmid, disk, format, options.stream);
  const volname = guestVolname(options.vmid, disk, format);
  const body = await readSizeHeader(options.stream, options.format);
  if (options.format === 'tar+size' && body.sizeBytes > 0 && !bc.options.quotas) {
    bc.log.warn(`storage '${bc.sid}' has no quotas: '${volidOf(bc, volname)}' is imported without its size of ${body.sizeBytes} bytes`);
  }
  return withNewSubvolume(
    bc,
    { vmid: options.vmid, disk, format },
    async (path) => {
      if (options.format === 'tar+size') {
        if (bc.options.quotas) await setSubvolumeSize(bc, volname, path, body.sizeBytes);
        await bc.runner.run(['tar', ...COMMON_TAR_FLAGS, '-C', path, '-xf', '-'], { stdinStream: body.rest(), signal: bc.signal });
        return;
      }
      const file = `${path}/disk.raw`;
      await createRawFile(bc, file, body.sizeBytes);
      const fh = await open(file, 'r+');
      try {
        await copySizedBody(body, async (offset, data) => void (await fh.write(data, 0, data.length, offset)), { format: 'raw+size', signal: bc.signal });
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
    { requestedBytes: body.sizeBytes },
  );
}

/** The subvolumes a receive left in `dir`, checked and ordered as they were received. */
async function receivedEntries(bc: BtrfsContext, dir: string, format: 'raw' | 'subvol'): Promise<Array<{ entry: string; snapshot: string }>> {
  const found: Array<{ entry: string; snapshot: string; id: number }> = [];
  let disk: string | undefined;
  for (const entry of await readdir(dir)) {
    const m = STREAM_ENTRY.exec(entry);
    if (!m) throw new InvalidArgumentError('stream', `btrfs stream holds '${entry}', which is not a disk snapshot (<disk>@<snapshot>)`);
    if (disk !== undefined && disk !== m[1]) throw new InvalidArgumentError('stream', `btrfs stream holds more than one disk ('${disk}' and '${m[1]}')`);
    disk = m[1]!;
    if ((disk.endsWith('.subvol') ? 'subvol' : 'raw') !== format) throw new InvalidArgumentError('stream', `btrfs stream holds '${disk}', not a ${format} volume`);
    const id = Number((await runBtrfs(bc, BtrfsCommands.rootId(`${dir}/${entry}`))).trim());
    found.push({ entry, snapshot: m[2]!, id });
  }
  if (found.length === 0) throw new ParseError('btrfs stream', 'holds no subvolume');
  if (format === 'raw' && !(await pathExists(`${dir}/${found[0]!.entry}/disk.raw`))) throw new InvalidArgumentError('stream', 'btrfs stream of a raw volume holds no disk.raw');
  return found.sort((a, b) => a.id - b.id);
}

/**
 * `btrfs receive` into `images/<vmid>/recv.<vmid>.<hex>.tmp/`, then the last subvolume becomes
 * the new volume (made writable and moved into place) and the others its snapshots.
 */
async function receiveVolume(bc: BtrfsContext, vmid: number, disk: string, format: 'raw' | 'subvol', stream: Readable): Promise<string> {
  const volname = guestVolname(vmid, disk, format);
  const destination = bc.layout.subvolume(vmid, disk, format);
  const guestDir = bc.layout.guestDir(vmid);
  await mkdir(guestDir, { recursive: true });
  if (await pathExists(destination)) throw new AlreadyExistsError('volume', volidOf(bc, volname));
  const tmp = `${guestDir}/recv.${vmid}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(tmp);
  const placed: string[] = [];
  try {
    await bc.runner.run(BtrfsCommands.receive(tmp), { stdinStream: stream, signal: bc.signal });
    const entries = await receivedEntries(bc, tmp, format);
    const current = entries[entries.length - 1]!;
    // Read-only subvolumes cannot move to another directory: clear the flag, move, set it again.
    await runBtrfs(bc, BtrfsCommands.setReadOnly(`${tmp}/${current.entry}`, false, true));
    await rename(`${tmp}/${current.entry}`, destination);
    placed.push(destination);
    for (const e of entries.slice(0, -1)) {
      if (TRANSFER_SNAPSHOT.test(e.snapshot)) continue;
      const target = bc.layout.subvolume(vmid, disk, format, e.snapshot);
      await runBtrfs(bc, BtrfsCommands.setReadOnly(`${tmp}/${e.entry}`, false, true));
      await rename(`${tmp}/${e.entry}`, target);
      placed.unshift(target);
      await runBtrfs(bc, BtrfsCommands.setReadOnly(target, true));
    }
    return volname;
  } catch (err) {
    for (const p of placed) await dropSubvolume(bc, p);
    throw await mapNoSpace(err, bc.sid, bc.layout.root);
  } finally {
    const left = await readdir(tmp).catch(() => [] as string[]);
    for (const e of left) await dropSubvolume(bc, `${tmp}/${e}`);
    await rmdir(tmp).catch((e: unknown) => bc.log.warn(`storage '${bc.sid}': could not remove '${tmp}': ${(e as Error).message}`));
    if (placed.length === 0) await rmdir(guestDir).catch(() => undefined);
  }
}

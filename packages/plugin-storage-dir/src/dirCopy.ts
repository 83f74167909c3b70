/**
 * Full copies within one dir storage without streaming the bytes through Corral (the driver's
 * `copyVolume` hook, plugin API 3):
 *
 * - raw: `cp --reflink=auto`: a reflink (shared extents, copy-on-write) where the filesystem
 *   can (btrfs, XFS with reflink), else a sparse copy made by `cp` itself;
 * - qcow2 and vmdk: `qemu-img convert` in the same format (as pve's `qemu_img_convert`): a
 *   linked clone is flattened, internal snapshots are left behind, `-l snapshot.name=<s>`
 *   copies the state of a qcow2 snapshot;
 * - subvol: `cp -a --reflink=auto` of the directory tree (ownership, modes, xattrs, links
 *   kept), and the quota.
 *
 * @packageDocumentation
 */
import { chmod, copyFile, mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { AlreadyExistsError, NotSupportedError, withReverter, type CopyVolumeWithinOptions } from '@corral/core';
import { volidOf, type DirContext } from './DirContext.js';
import { dirVolumeInfo, parseImage, preallocationArgs } from './dirImages.js';
import { imageFileName } from './imageFileName.js';
import { mapStorageError } from './storageErrors.js';

/** A copy runs at most this long, ms (the bytes may be many GiB where no reflink is possible). */
const COPY_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/**
 * Copies volume `volname` (or its qcow2 snapshot) to `<vmid>/<name>.<format>` on the same
 * storage; returns the new volname. The copy is a new, writable (0644 / 0755) volume owned by
 * `options.vmid`, independent of the source. A failed copy removes what it created.
 *
 * @throws NotSupportedError before creating anything (a snapshot of a raw, vmdk or subvol
 *   volume: the facade then streams), AlreadyExistsError, NotFoundError (source), StorageFullError.
 */
export async function copyDirVolume(dc: DirContext, volname: string, options: CopyVolumeWithinOptions): Promise<string> {
  const v = parseImage(dc, volname, 'copy');
  if (options.snapshot !== undefined && v.format !== 'qcow2') {
    throw new NotSupportedError('copy', `'${volidOf(dc, volname)}' is ${v.format}: only qcow2 volumes have snapshots on dir storage`);
  }
  const info = await dirVolumeInfo(dc, volname);
  const from = dc.layout.pathOf(v);
  const file = imageFileName(options.name, v.format);
  const newVolname = `${options.vmid}/${file}`;
  const dir = dc.layout.guestDir(options.vmid);
  const to = `${dir}/${file}`;
  return withReverter(async (revert) => {
    await mkdir(dir, { recursive: true });
    revert.add(() => rmdir(dir).catch(() => undefined), 'remove guest dir');
    if (await stat(to).then(() => true, () => false)) throw new AlreadyExistsError('volume', volidOf(dc, newVolname));
    try {
      if (v.format === 'subvol') {
        await mkdir(to, { mode: 0o755 });
        revert.add(() => rm(to, { recursive: true, force: true }), 'remove the partial subvol copy');
        await dc.runner.run(['cp', '-a', '--reflink=auto', '--', `${from}/.`, `${to}/`], { timeoutMs: COPY_TIMEOUT_MS, signal: dc.signal });
        if (info.sizeBytes > 0) {
          const quota = dc.layout.quotaPath(options.vmid, file);
          revert.add(() => rm(quota, { force: true }), 'remove the quota of the copy');
          await copyFile(dc.layout.quotaPath(v.vmid, v.name), quota);
        }
      } else if (v.format === 'raw') {
        revert.add(() => rm(to, { force: true }), 'remove the partial copy');
        await dc.runner.run(['cp', '--reflink=auto', '--', from, to], { timeoutMs: COPY_TIMEOUT_MS, signal: dc.signal });
        // A base is read-only (0444) and cp keeps the source's mode: the copy is a writable volume.
        await chmod(to, 0o644);
      } else {
        revert.add(() => rm(to, { force: true }), 'remove the partial copy');
        const snapshot = options.snapshot !== undefined ? ['-l', `snapshot.name=${options.snapshot}`] : [];
        await dc.runner.run(
          ['qemu-img', 'convert', '-f', v.format, ...snapshot, '-O', v.format, ...preallocationArgs(v.format, dc.options.preallocation), from, to],
          { timeoutMs: COPY_TIMEOUT_MS, signal: dc.signal },
        );
      }
    } catch (err) {
      throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, requestedBytes: info.sizeBytes, volid: volidOf(dc, volname) });
    }
    return newVolname;
  }, { log: dc.log });
}

/**
 * Templates and linked clones (BTRFSPlugin's `create_base` and `clone_image`): a base is the
 * volume's subvolume renamed to `base-...` and made read-only; a linked clone is a writable
 * snapshot of the base (or of a snapshot, or of a current raw image), named `<vmid>/<name>`
 * like any volume. btrfs records which subvolume a snapshot was taken of (its parent UUID),
 * which is how a clone's `parent` is found (see {@link describeVolume}).
 *
 * @packageDocumentation
 */
import { rename } from 'node:fs/promises';
import { ConflictError } from '@corral/core';
import { BtrfsCommands } from './BtrfsCommands.js';
import { runBtrfs, volidOf, type BtrfsContext } from './BtrfsContext.js';
import { setSubvolumeSize, subvolumeQuotas } from './btrfsQuota.js';
import { guestVolname } from './btrfsVolname.js';
import { guestVolume, newDiskName, pathExists, requireVolume, snapshotDirs, subvolumeDirName, subvolumeOf, withNewSubvolume } from './btrfsVolumes.js';

/**
 * Turns a volume into a read-only base: `vm-`/`subvol-` become `base-` (Proxmox renames only
 * `vm-`; a subvol base named `base-...subvol` is a base for pve's `parse_name_dir` too).
 * Returns the new volname; a base is returned as it is.
 *
 * @throws NotFoundError, ConflictError (the volume has snapshots, which would stay behind
 *   under the old name; or the base name is taken).
 */
export async function createBase(bc: BtrfsContext, volname: string): Promise<string> {
  const v = guestVolume(bc, volname, 'template');
  await requireVolume(bc, volname, v);
  if (v.isBase) return volname;
  const snaps = await snapshotDirs(bc, v);
  if (snaps.length > 0) {
    throw new ConflictError(`'${volidOf(bc, volname)}' has snapshots (${snaps.map((s) => s.slice(s.indexOf('@') + 1)).join(', ')}): delete them before turning it into a base`);
  }
  const disk = v.disk.replace(/^(?:vm|subvol)-/, 'base-');
  const baseDisk = disk.startsWith('base-') ? disk : `base-${disk}`;
  const target = { ...v, disk: baseDisk, isBase: true };
  const from = subvolumeOf(bc, v);
  const to = subvolumeOf(bc, target);
  const newVolname = guestVolname(v.vmid, baseDisk, v.format);
  if (await pathExists(to)) throw new ConflictError(`cannot turn '${volidOf(bc, volname)}' into a base: '${volidOf(bc, newVolname)}' exists`);
  await rename(from, to);
  try {
    await runBtrfs(bc, BtrfsCommands.setReadOnly(to, true));
  } catch (err) {
    // Proxmox only warns here; a base that stays writable is still a base by name.
    bc.log.warn(`storage '${bc.sid}': could not make base '${to}' read-only: ${(err as Error).message}`);
  }
  return newVolname;
}

/**
 * A linked clone of `volname` (a base, a current raw image, or `snapshot` of it) for guest
 * `vmid` named `name`: a writable snapshot of its subvolume. A subvolume clone gets the
 * source's qgroup limit. Returns the new volname.
 *
 * @throws NotFoundError, AlreadyExistsError, InvalidArgumentError (name), StorageFullError.
 */
export async function cloneLinked(bc: BtrfsContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
  const v = guestVolume(bc, volname, 'linked clone');
  await requireVolume(bc, volname, v, options.snapshot);
  const disk = newDiskName(options.name, v.format);
  const limit = v.format === 'subvol' && bc.options.quotas ? ((await subvolumeQuotas(bc)).get(`${v.vmid}/${subvolumeDirName(v)}`)?.limitBytes ?? 0) : 0;
  const newVolname = guestVolname(options.vmid, disk, v.format);
  return withNewSubvolume(
    bc,
    { vmid: options.vmid, disk, format: v.format },
    async (path) => {
      if (limit > 0) await setSubvolumeSize(bc, newVolname, path, limit);
    },
    { create: (path) => runBtrfs(bc, BtrfsCommands.snapshot(subvolumeOf(bc, v, options.snapshot), path, false)).then(() => undefined) },
  );
}

/**
 * A full copy within the storage (the contract's `copyVolume`): a new, empty subvolume filled
 * with `cp -a --reflink=auto` from the volume (or its `snapshot`), so no data is written and
 * the copy is not a snapshot (bytes are copied only where a reflink is refused, e.g. between a
 * NOCOW and a COW file) (btrfs gives it no parent UUID: it is not reported as a linked
 * clone, and its source can be freed). A subvolume copy gets the source's qgroup limit.
 * Returns the new volname.
 *
 * @throws NotFoundError, AlreadyExistsError, InvalidArgumentError (name), StorageFullError.
 */
export async function copyWithin(bc: BtrfsContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
  const v = guestVolume(bc, volname, 'copy');
  await requireVolume(bc, volname, v, options.snapshot);
  const disk = newDiskName(options.name, v.format);
  const limit = v.format === 'subvol' && bc.options.quotas ? ((await subvolumeQuotas(bc)).get(`${v.vmid}/${subvolumeDirName(v)}`)?.limitBytes ?? 0) : 0;
  const newVolname = guestVolname(options.vmid, disk, v.format);
  const source = subvolumeOf(bc, v, options.snapshot);
  return withNewSubvolume(bc, { vmid: options.vmid, disk, format: v.format }, async (path) => {
    if (limit > 0) await setSubvolumeSize(bc, newVolname, path, limit);
    // New files inherit NOCOW from their directory; reflinks need source and copy to agree.
    if (bc.options.nocow) await bc.runner.run(BtrfsCommands.nocow(path), { timeoutMs: 60_000, signal: bc.signal });
    await bc.runner.run(BtrfsCommands.reflinkCopy(`${source}/.`, path), { signal: bc.signal });
  });
}

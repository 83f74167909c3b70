import { InvalidArgumentError, InvalidVolumeIdError, type ParsedVolname } from '@corral/core';

/** `<vmid>/vm-<vmid>-disk-<n>.raw`: the only volume name a flatdir storage has. */
const VOLNAME = /^([1-9]\d*)\/(vm-([1-9]\d*)-disk-\d+)\.raw$/;

/** Disk names as the facade passes them to `allocate`/`importVolume` (`vm-100-disk-0`). */
const DISK_NAME = /^vm-([1-9]\d*)-disk-\d+$/;

/**
 * Decodes a flatdir volume name (the part of a volume id after `storeid:`). The directory and
 * the file name must carry the same guest id.
 *
 * @throws InvalidVolumeIdError for anything else (names of other storage types included).
 */
export function parseFlatVolname(storageId: string, volname: string): ParsedVolname {
  const parsed = matchFlatVolname(volname);
  if (!parsed) throw new InvalidVolumeIdError(`${storageId}:${volname}`, 'not a flatdir volume name (expected <vmid>/vm-<vmid>-disk-<n>.raw)');
  return parsed;
}

/** Like {@link parseFlatVolname}, but answers `undefined` for a name that is not a flatdir volume name. */
export function matchFlatVolname(volname: string): ParsedVolname | undefined {
  const m = VOLNAME.exec(volname);
  if (!m || m[1] !== m[3]) return undefined;
  return { volname, content: 'images', vmid: Number(m[1]), name: `${m[2]}.raw`, format: 'raw', isBase: false };
}

/**
 * The volume name of disk `name` (`vm-<vmid>-disk-<n>`) of guest `vmid`.
 *
 * @throws InvalidArgumentError (argument `name`) when `name` is not a disk name of `vmid`.
 */
export function flatVolname(vmid: number, name: string): string {
  const m = DISK_NAME.exec(name);
  if (!m || Number(m[1]) !== vmid) {
    throw new InvalidArgumentError('name', `'${name}' is not a disk name of guest ${vmid} (expected vm-${vmid}-disk-<n>)`);
  }
  return `${vmid}/${name}.raw`;
}

/**
 * Guest volumes of a btrfs storage: raw images in per-volume subvolumes and container
 * subvolumes (BTRFSPlugin's `alloc_image`, `free_image`, `list_images`, `volume_size_info`,
 * `volume_resize`, `filesystem_path`).
 *
 * @packageDocumentation
 */
import { lstat, mkdir, open, readdir, rmdir, stat, truncate } from 'node:fs/promises';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
  type VolumeAccess,
  type VolumeFormat,
  type VolumeInfo,
} from '@corral/core';
import { BtrfsCommands } from './BtrfsCommands.js';
import { runBtrfs, volidOf, type BtrfsContext } from './BtrfsContext.js';
import { isMissing, mapNoSpace } from './btrfsErrors.js';
import { setSubvolumeSize, subvolumeQuotas, type QgroupUsage } from './btrfsQuota.js';
import { btrfsQemuHints } from './btrfsStorageInfo.js';
import { storageSubvolumes, type StorageSubvolumes } from './btrfsSubvolumes.js';
import { DISK_NAME_RE, guestVolname, parseBtrfsVolname, type BtrfsVolname } from './btrfsVolname.js';

/** A decoded guest volume name. */
export type GuestVolume = Extract<BtrfsVolname, { kind: 'guest' }>;

/** Decodes `volname` and requires a guest volume (raw or subvol) for `operation`. */
export function guestVolume(bc: BtrfsContext, volname: string, operation: string): GuestVolume {
  const v = parseBtrfsVolname(volname);
  if (v.kind !== 'guest') throw new NotSupportedError(operation, `'${volidOf(bc, volname)}' is a ${v.content} file, not a guest volume`);
  return v;
}

/** The subvolume path of a guest volume (or of its snapshot). */
export function subvolumeOf(bc: BtrfsContext, v: GuestVolume, snapshot?: string): string {
  return bc.layout.subvolume(v.vmid, v.disk, v.format, snapshot);
}

/** Its directory name inside `images/<vmid>/` (`vm-100-disk-0`, `subvol-100-disk-0.subvol`). */
export function subvolumeDirName(v: Pick<GuestVolume, 'disk' | 'format'>): string {
  return v.format === 'raw' ? v.disk : `${v.disk}.subvol`;
}

/** True when something exists at `path` (not following a last symlink). */
export async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Requires the volume (or snapshot) to exist; `NotFoundError` otherwise. */
export async function requireVolume(bc: BtrfsContext, volname: string, v: GuestVolume, snapshot?: string): Promise<void> {
  const path = v.format === 'raw' ? bc.layout.rawFile(v.vmid, v.disk, snapshot) : subvolumeOf(bc, v, snapshot);
  if (await pathExists(path)) return;
  if (snapshot !== undefined) throw new NotFoundError('snapshot', `${volidOf(bc, volname)}@${snapshot}`);
  throw new NotFoundError('volume', volidOf(bc, volname));
}

/**
 * The disk name (no extension) of a new volume named `name` in `format`: `vm-100-disk-0` or
 * `vm-100-disk-0.raw` give `vm-100-disk-0`. Refuses another format's extension (pve's "wrong
 * extension for format"), characters BTRFSPlugin's listing would skip (`@`, `.`), and `base-`
 * names, which only `createBase` makes.
 *
 * @throws InvalidArgumentError (argument `name` or `format`).
 */
export function newDiskName(name: string, format: VolumeFormat): string {
  if (format !== 'raw' && format !== 'subvol') throw new InvalidArgumentError('format', `btrfs storage allocates raw and subvol volumes, not '${format}'`);
  const m = /^(.*)\.(raw|qcow2|vmdk|subvol)$/.exec(name);
  if (m && m[2] !== format) throw new InvalidArgumentError('name', `illegal name '${name}': wrong extension for format ('${m[2]}' != '${format}')`);
  const disk = m ? m[1]! : name;
  if (!DISK_NAME_RE.test(disk) || disk.length > 200) {
    throw new InvalidArgumentError('name', `invalid volume name '${name}': letters, digits, '_', '+', '-' (no '@' or '.'), at most 200`);
  }
  if (disk.startsWith('base-')) throw new InvalidArgumentError('name', `'${name}': base- names are made by createBase`);
  return disk;
}

/** Creates `images/<vmid>/` and refuses a name whose subvolume exists. */
async function prepareNew(bc: BtrfsContext, vmid: number, disk: string, format: 'raw' | 'subvol'): Promise<string> {
  await mkdir(bc.layout.guestDir(vmid), { recursive: true });
  const path = bc.layout.subvolume(vmid, disk, format);
  if (await pathExists(path)) throw new AlreadyExistsError('volume', volidOf(bc, guestVolname(vmid, disk, format)));
  return path;
}

/** Deletes a subvolume this operation made, logging a failure instead of hiding the first error. */
export async function dropSubvolume(bc: BtrfsContext, path: string): Promise<void> {
  await runBtrfs(bc, BtrfsCommands.subvolumeDelete([path])).catch((err: unknown) =>
    bc.log.warn(`storage '${bc.sid}': could not delete subvolume '${path}' after a failure: ${(err as Error).message}`),
  );
}

/** Creates an empty raw image file of `sizeBytes` (NOCOW first when the storage says so). */
export async function createRawFile(bc: BtrfsContext, file: string, sizeBytes: number): Promise<void> {
  const fh = await open(file, 'wx', 0o640);
  try {
    if (bc.options.nocow) await bc.runner.run(BtrfsCommands.nocow(file), { timeoutMs: 60_000, signal: bc.signal });
    await fh.truncate(sizeBytes);
  } finally {
    await fh.close();
  }
}

/** How {@link withNewSubvolume} makes the subvolume and how much space the caller asked for. */
export interface NewSubvolumeOptions {
  /** Makes the subvolume at `path`; default an empty one (`btrfs subvolume create`). */
  readonly create?: (path: string) => Promise<void>;
  /** Bytes requested, for `StorageFullError`. Default 0. */
  readonly requestedBytes?: number;
}

/**
 * Makes the subvolume of volume `<vmid>/<disk>.<format>` and runs `fill` on it; a failure
 * deletes the subvolume and the empty guest directory again. Returns the volname.
 *
 * @throws AlreadyExistsError, StorageFullError, or what `fill` throws.
 */
export async function withNewSubvolume(
  bc: BtrfsContext,
  volume: { vmid: number; disk: string; format: 'raw' | 'subvol' },
  fill: (path: string) => Promise<void>,
  options: NewSubvolumeOptions = {},
): Promise<string> {
  const { vmid, disk, format } = volume;
  const requestedBytes = options.requestedBytes ?? 0;
  const create = options.create ?? ((p: string) => runBtrfs(bc, BtrfsCommands.subvolumeCreate(p)).then(() => undefined));
  const path = await prepareNew(bc, vmid, disk, format);
  try {
    await create(path);
  } catch (err) {
    await rmdir(bc.layout.guestDir(vmid)).catch(() => undefined);
    throw await mapNoSpace(err, bc.sid, bc.layout.root, requestedBytes);
  }
  try {
    await fill(path);
  } catch (err) {
    await dropSubvolume(bc, path);
    await rmdir(bc.layout.guestDir(vmid)).catch(() => undefined);
    throw await mapNoSpace(err, bc.sid, bc.layout.root, requestedBytes);
  }
  return guestVolname(vmid, disk, format);
}

/**
 * Allocates a raw image (a subvolume holding a sparse `disk.raw` of `sizeBytes`) or a container
 * subvolume (`sizeBytes` its qgroup limit; 0 none). Returns the volname.
 *
 * @throws InvalidArgumentError (name, format), AlreadyExistsError, NotSupportedError (a sized
 *   subvolume without `quotas`), StorageFullError.
 */
export async function allocateVolume(bc: BtrfsContext, options: { vmid: number; name: string; format: VolumeFormat; sizeBytes: number }): Promise<string> {
  const disk = newDiskName(options.name, options.format);
  const format = options.format as 'raw' | 'subvol';
  const volname = guestVolname(options.vmid, disk, format);
  // Refused before anything is created (setSubvolumeSize throws without `quotas`).
  if (format === 'subvol' && options.sizeBytes > 0 && !bc.options.quotas) await setSubvolumeSize(bc, volname, '', options.sizeBytes);
  return withNewSubvolume(
    bc,
    { vmid: options.vmid, disk, format },
    async (path) => {
      if (format === 'raw') await createRawFile(bc, `${path}/disk.raw`, options.sizeBytes);
      else await setSubvolumeSize(bc, volname, path, options.sizeBytes);
    },
    { requestedBytes: options.sizeBytes },
  );
}

/** Facts used to describe guest volumes: btrfs's subvolume relations and quota usage. */
export interface VolumeFacts {
  readonly subvolumes?: StorageSubvolumes;
  readonly quotas: ReadonlyMap<string, QgroupUsage>;
}

/** Reads {@link VolumeFacts} (one `btrfs subvolume list`, plus one `qgroup show` with `quotas`). */
export async function volumeFacts(bc: BtrfsContext): Promise<VolumeFacts> {
  const [subvolumes, quotas] = await Promise.all([storageSubvolumes(bc), subvolumeQuotas(bc)]);
  return { subvolumes, quotas };
}

/**
 * The base a volume was cloned from: the subvolume btrfs names as its parent, when that is a
 * `base-` volume of this storage of the same format. Undefined otherwise (a clone of a
 * snapshot or of a current volume, a fresh volume, or a clone that was rolled back).
 */
function parentBase(bc: BtrfsContext, v: GuestVolume, facts: VolumeFacts): string | undefined {
  const me = facts.subvolumes?.byPath.get(`${v.vmid}/${subvolumeDirName(v)}`);
  const parent = me?.parentUuid ? facts.subvolumes?.byUuid.get(me.parentUuid) : undefined;
  const m = parent?.imagesPath ? /^(\d+)\/(base-[A-Za-z0-9_+-]+?)(\.subvol)?$/.exec(parent.imagesPath) : null;
  if (!m || (m[3] ? 'subvol' : 'raw') !== v.format) return undefined;
  return volidOf(bc, guestVolname(Number(m[1]), m[2]!, v.format));
}

/** The listing entry of guest volume `v`, or undefined when it vanished or is not one. */
export async function describeVolume(bc: BtrfsContext, v: GuestVolume, facts: VolumeFacts): Promise<VolumeInfo | undefined> {
  const volname = guestVolname(v.vmid, v.disk, v.format);
  const base = { volid: volidOf(bc, volname), volname, content: v.content, format: v.format, vmid: v.vmid, isBase: v.isBase, parent: parentBase(bc, v, facts) };
  try {
    if (v.format === 'raw') {
      const st = await stat(bc.layout.rawFile(v.vmid, v.disk));
      if (!st.isFile()) return undefined;
      return { ...base, sizeBytes: st.size, usedBytes: st.blocks * 512, ctime: Math.floor(st.ctimeMs / 1000) };
    }
    const st = await stat(subvolumeOf(bc, v));
    if (!st.isDirectory()) return undefined;
    const q = facts.quotas.get(`${v.vmid}/${subvolumeDirName(v)}`);
    return { ...base, sizeBytes: q?.limitBytes ?? 0, usedBytes: q?.referencedBytes ?? 0, ctime: Math.floor(st.ctimeMs / 1000) };
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Size, format, usage and parent of a guest volume. @throws NotFoundError */
export async function guestVolumeInfo(bc: BtrfsContext, volname: string): Promise<VolumeInfo> {
  const v = guestVolume(bc, volname, 'volume info');
  await requireVolume(bc, volname, v);
  const info = await describeVolume(bc, v, await volumeFacts(bc));
  if (!info) throw new NotFoundError('volume', volidOf(bc, volname));
  return info;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/**
 * Guest volumes under `images/<vmid>/` (BTRFSPlugin's `list_images`: names without `@` or
 * `.`, except the `.subvol` extension; a raw volume is a directory holding `disk.raw`),
 * optionally of one guest and one content.
 */
export async function listGuestVolumes(bc: BtrfsContext, filter: { vmid?: number; content?: 'images' | 'rootdir' }): Promise<VolumeInfo[]> {
  const candidates: GuestVolume[] = [];
  for (const owner of await readdirOrEmpty(bc.layout.imagesDir)) {
    if (!/^\d+$/.test(owner) || (filter.vmid !== undefined && Number(owner) !== filter.vmid)) continue;
    for (const entry of await readdirOrEmpty(bc.layout.guestDir(Number(owner)))) {
      const m = /^([A-Za-z0-9_+-]+)(\.subvol)?$/.exec(entry);
      if (!m) continue;
      const format = m[2] ? 'subvol' : 'raw';
      const content = format === 'raw' ? 'images' : 'rootdir';
      if (filter.content && filter.content !== content) continue;
      candidates.push({ kind: 'guest', content, vmid: Number(owner), disk: m[1]!, format, isBase: m[1]!.startsWith('base-') });
    }
  }
  if (candidates.length === 0) return [];
  const facts = await volumeFacts(bc);
  const out = await Promise.all(candidates.map((v) => describeVolume(bc, v, facts)));
  return out.filter((v): v is VolumeInfo => v !== undefined);
}

/** Snapshot subvolume names (`<dir>@<snap>`) of a guest volume, from its guest directory. */
export async function snapshotDirs(bc: BtrfsContext, v: GuestVolume): Promise<string[]> {
  const prefix = `${subvolumeDirName(v)}@`;
  return (await readdirOrEmpty(bc.layout.guestDir(v.vmid))).filter((e) => e.startsWith(prefix) && e.length > prefix.length);
}

/**
 * Deletes a guest volume and its snapshots in one `btrfs subvolume delete` (BTRFSPlugin's
 * `free_image`), then the guest directory when it is empty. A base that linked clones were
 * made from is refused.
 *
 * @throws NotFoundError, ConflictError (a base with linked clones).
 */
export async function freeGuestVolume(bc: BtrfsContext, volname: string): Promise<void> {
  const v = guestVolume(bc, volname, 'free');
  const path = subvolumeOf(bc, v);
  if (!(await pathExists(path))) throw new NotFoundError('volume', volidOf(bc, volname));
  if (v.isBase) {
    const clones = (await listGuestVolumes(bc, {})).filter((c) => c.parent === volidOf(bc, volname)).map((c) => c.volid);
    if (clones.length > 0) throw new ConflictError(`base volume '${volidOf(bc, volname)}' has linked clones: ${clones.join(', ')}`);
  }
  const snapshots = (await snapshotDirs(bc, v)).map((s) => `${bc.layout.guestDir(v.vmid)}/${s}`);
  await runBtrfs(bc, BtrfsCommands.subvolumeDelete([...snapshots, path]));
  await rmdir(bc.layout.guestDir(v.vmid)).catch(() => undefined);
}

/**
 * Sets a volume's size in bytes: a raw image's file is truncated (grow, or shrink), a
 * subvolume gets a new qgroup limit (storage option `quotas`).
 *
 * @throws NotFoundError, NotSupportedError (a subvolume without `quotas`), StorageFullError.
 */
export async function resizeGuestVolume(bc: BtrfsContext, volname: string, sizeBytes: number): Promise<void> {
  const v = guestVolume(bc, volname, 'resize');
  await requireVolume(bc, volname, v);
  try {
    if (v.format === 'raw') await truncate(bc.layout.rawFile(v.vmid, v.disk), sizeBytes);
    else await setSubvolumeSize(bc, volname, subvolumeOf(bc, v), sizeBytes);
  } catch (err) {
    throw await mapNoSpace(err, bc.sid, bc.layout.root, sizeBytes);
  }
}

/** What a consumer opens: the raw file (or that of a snapshot), or the subvolume directory. */
export async function resolveGuestVolume(bc: BtrfsContext, volname: string, snapshot?: string): Promise<VolumeAccess> {
  const v = guestVolume(bc, volname, 'resolve');
  await requireVolume(bc, volname, v, snapshot);
  if (v.format === 'raw') return { kind: 'file', path: bc.layout.rawFile(v.vmid, v.disk, snapshot), format: 'raw', qemuHints: btrfsQemuHints(bc.options.nocow) };
  return { kind: 'directory', path: subvolumeOf(bc, v, snapshot) };
}

/**
 * Volume operations of an rbd storage (Proxmox's RBDPlugin): listing, info, allocation,
 * free, resize, and the storage status from `ceph df`.
 *
 * @packageDocumentation
 */
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type AllocateOptions,
  type StorageContent,
  type StorageStatus,
  type VolumeInfo,
} from '@corral/core';
import { parseCephDf, parseRbdChildren, parseRbdInfo, parseRbdList, parseRbdSnapshots, type RbdImageInfo, type RbdParent } from './parseRbdJson.js';
import { rbdFailure } from './rbdErrors.js';
import { isRbdVolumeName, parseRbdVolname, type RbdVolname } from './rbdVolname.js';
import { unmapAll } from './rbdKrbd.js';
import type { RbdSession } from './RbdSession.js';

/** Name of the snapshot every template carries (Proxmox's). */
export const BASE_SNAPSHOT = '__base__';

const MiB = 1024 * 1024;

/** `--size` value: MiB rounded up (Proxmox's `int(($size + 1023) / 1024)` on KiB). */
export function sizeMiB(sizeBytes: number): number {
  return Math.ceil(sizeBytes / MiB);
}

/**
 * The volume name of an image: `base-X/<name>` for a clone of `base-X@__base__` in the same
 * pool and namespace (Proxmox's convention), `<name>` otherwise.
 */
export function volnameOf(s: RbdSession, name: string, parent: RbdParent | undefined): string {
  const loc = s.cmd.location;
  if (
    parent &&
    parent.snapshot === BASE_SNAPSHOT &&
    parent.pool === loc.pool &&
    parent.namespace === (loc.namespace ?? '') &&
    /^base-\d+-[^/@]+$/.test(parent.image)
  ) {
    return `${parent.image}/${name}`;
  }
  return name;
}

function toInfo(s: RbdSession, name: string, size: number, parent: RbdParent | undefined, ctime?: number): VolumeInfo | undefined {
  if (!isRbdVolumeName(name)) return undefined;
  const volname = volnameOf(s, name, parent);
  const p = parseRbdVolname(volname);
  return {
    volid: s.volid(volname),
    volname,
    content: 'images',
    format: 'raw',
    sizeBytes: size,
    vmid: p.vmid,
    isBase: p.isBase,
    parent: p.baseVolname ? s.volid(p.baseVolname) : undefined,
    ctime,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `rbd ls -l` output. WARNING: `ls -l` opens every image, and fails as a whole with ENOENT
 * ("listing images failed: (2) No such file or directory") when one is removed meanwhile
 * (measured on Ceph 16 with parallel frees); a missing pool or namespace says so explicitly.
 * So a bare ENOENT is retried (up to 5 tries).
 */
async function listOutput(s: RbdSession): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await s.exec(s.cmd.list())).stdout;
    } catch (err) {
      if (rbdFailure(err) !== 'missing' || attempt >= 5) s.fail(err);
      await sleep(50 * attempt);
    }
  }
}

/** Lists images `vm-*`/`base-*` of the pool (namespace) with `rbd ls -l`, sorted by volname. */
export async function listRbdVolumes(s: RbdSession, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
  if (filter.content !== undefined && filter.content !== 'images') return [];
  const out: VolumeInfo[] = [];
  for (const e of parseRbdList(await listOutput(s))) {
    if (e.snapshot !== undefined) continue;
    const info = toInfo(s, e.image, e.size, e.parent);
    if (!info || (filter.vmid !== undefined && info.vmid !== filter.vmid)) continue;
    out.push(info);
  }
  return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

/**
 * `rbd info` of an image (or snapshot).
 *
 * @throws NotFoundError (kind `volume`, or `snapshot` when one is named).
 */
export async function rbdImageInfo(s: RbdSession, v: RbdVolname, snapshot?: string): Promise<RbdImageInfo> {
  const r = await s.run(s.cmd.info(v.name, snapshot), { volid: s.volid(v.volname), snapshot });
  return parseRbdInfo(r.stdout);
}

/** Size, parent and ctime of a volume; the volid answered is the canonical one. Throws `NotFoundError`. */
export async function rbdVolumeInfo(s: RbdSession, volname: string): Promise<VolumeInfo> {
  const v = parseRbdVolname(volname);
  const info = await rbdImageInfo(s, v);
  const out = toInfo(s, v.name, info.size, info.parent, info.ctime);
  if (!out) throw new InvalidArgumentError('volume', `'${volname}' is not an rbd volume`);
  return out;
}

/** Checks that `name` is `vm-<vmid>-<x>` and the format `raw`; returns it parsed. */
export function checkNewName(name: string, format: string, vmid: number): RbdVolname {
  if (format !== 'raw') throw new InvalidArgumentError('format', `rbd volumes are raw, not '${format}'`);
  let parsed: RbdVolname | undefined;
  try {
    parsed = parseRbdVolname(name);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !name.startsWith(`vm-${vmid}-`) || parsed.baseVolname !== undefined) {
    throw new InvalidArgumentError('name', `illegal name '${name}': an rbd volume of guest ${vmid} is named 'vm-${vmid}-<x>'`);
  }
  return parsed;
}

/**
 * `rbd create --image-format 2 --size <MiB, rounded up> [--data-pool X]`. Returns the volname.
 *
 * @throws AlreadyExistsError, StorageFullError, UnavailableError (cluster unreachable).
 */
export async function allocateRbdVolume(s: RbdSession, options: AllocateOptions): Promise<string> {
  const v = checkNewName(options.name, options.format, options.vmid);
  await s.run(s.cmd.create(v.name, sizeMiB(options.sizeBytes), s.opts.dataPool), { volid: s.volid(v.name), requestedBytes: options.sizeBytes });
  return v.name;
}

/**
 * Deletes an image with its snapshots, as Proxmox's `free_image`: protected snapshots are
 * unprotected, kernel mappings removed, `snap purge`, `rm`. An image whose snapshots have
 * clones is refused before anything changes.
 *
 * @throws NotFoundError (kind `volume`), ConflictError (linked clones, image in use).
 */
export async function freeRbdVolume(s: RbdSession, volname: string): Promise<void> {
  const v = parseRbdVolname(volname);
  const volid = s.volid(volname);
  const snaps = parseRbdSnapshots((await s.run(s.cmd.snapList(v.name), { volid })).stdout);
  if (snaps.length > 0) {
    const children = parseRbdChildren((await s.run(s.cmd.children(v.name), { volid })).stdout);
    if (children.length > 0) throw new ConflictError(`${volid} has linked clones: ${children.join(', ')}`);
    for (const snap of snaps.filter((x) => x.protected)) await s.run(s.cmd.snapUnprotect(v.name, snap.name), { volid, snapshot: snap.name });
  }
  await unmapAll(s, v.name);
  if (snaps.length > 0) await s.run(s.cmd.snapPurge(v.name), { volid });
  await s.run(s.cmd.remove(v.name), { volid });
}

/**
 * `rbd resize --size <MiB, rounded up>`; a smaller size adds `--allow-shrink` (the facade only
 * lets that through because `features.shrink` says so).
 *
 * @throws NotFoundError (kind `volume`).
 */
export async function resizeRbdVolume(s: RbdSession, volname: string, sizeBytes: number): Promise<void> {
  const v = parseRbdVolname(volname);
  const current = await rbdImageInfo(s, v);
  const mib = sizeMiB(sizeBytes);
  await s.run(s.cmd.resize(v.name, mib, mib * MiB < current.size), { volid: s.volid(volname), requestedBytes: sizeBytes });
}

/**
 * Usage from `ceph df` of the data pool (or pool), as Proxmox: available = `max_avail`, used =
 * `stored`, total = used + available. An unreachable cluster or a pool missing from the answer
 * gives `active: false` (logged); other failures throw.
 */
export async function rbdStorageStatus(s: RbdSession): Promise<StorageStatus> {
  const inactive: StorageStatus = { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
  let stdout: string;
  try {
    stdout = (await s.run(s.cmd.df())).stdout;
  } catch (err) {
    if (err instanceof UnavailableError) {
      s.ctx.log.warn(err.message);
      return inactive;
    }
    throw err;
  }
  const name = s.opts.dataPool ?? s.opts.pool;
  const pool = parseCephDf(stdout).find((p) => p.name === name);
  if (!pool) {
    s.ctx.log.warn(`storage '${s.sid}': ceph df has no usage for pool '${name}'`);
    return inactive;
  }
  return { active: true, totalBytes: pool.stored + pool.maxAvail, usedBytes: pool.stored, availableBytes: pool.maxAvail };
}

/** True when image `name` exists (`rbd info`). */
export async function rbdImageExists(s: RbdSession, name: string): Promise<boolean> {
  try {
    await s.run(s.cmd.info(name), { volid: s.volid(name) });
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

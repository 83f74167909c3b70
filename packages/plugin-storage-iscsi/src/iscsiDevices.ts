/**
 * The block devices of logged-in iSCSI sessions, found in sysfs and `/dev/disk/by-id` the way
 * Proxmox's ISCSIPlugin finds them (`iscsi_device_list`, `activate_volume`).
 *
 * @packageDocumentation
 */
import { readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InvalidStateError, NotFoundError } from '@corral/core';

/** Where sysfs and /dev are (tests point them at a private tree). */
export interface HostRoots {
  /** Default `/sys`. */
  readonly sys: string;
  /** Default `/dev`. */
  readonly dev: string;
}

/** A disk LUN of a session, as the kernel sees it. */
export interface IscsiDevice {
  /** `<channel>.<id>.<lun>.<by-id name>`. */
  readonly volname: string;
  readonly channel: number;
  readonly scsiId: number;
  readonly lun: number;
  /** Name in /dev/disk/by-id. */
  readonly name: string;
  /** Kernel block device (`sdb`, or the multipath holder `dm-3`). */
  readonly blockDevice: string;
  readonly sizeBytes: number;
}

async function firstLine(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/**
 * `/dev/disk/by-id` names of SCSI disks and multipath maps (no partitions), by the kernel device
 * their link points to (`../../sdb`).
 */
async function stableNames(roots: HostRoots): Promise<Map<string, string>> {
  const dir = join(roots.dev, 'disk', 'by-id');
  const out = new Map<string, string>();
  for (const name of await entries(dir)) {
    if (/-part\d+$/.test(name) || !/^(scsi-|dm-uuid-mpath-)/.test(name)) continue;
    const link = await readlink(join(dir, name)).catch(() => undefined);
    const m = link ? /^\.\.\/\.\.\/([^/]+)$/.exec(link) : null;
    if (m) out.set(m[1]!, name);
  }
  return out;
}

/**
 * The disk LUNs (SCSI type 0) of every session logged in to `target`, with their by-id names
 * and sizes. Devices without a by-id name (udev has not named them yet) are left out, as
 * Proxmox does.
 */
export async function listIscsiDevices(roots: HostRoots, target: string): Promise<IscsiDevice[]> {
  const sessions = join(roots.sys, 'class', 'iscsi_session');
  const names = await stableNames(roots);
  const out = new Map<string, IscsiDevice>();
  for (const ent of await entries(sessions)) {
    if (!/^session\d+$/.test(ent)) continue;
    if ((await firstLine(join(sessions, ent, 'targetname'))) !== target) continue;
    const hostEntry = (await entries(join(sessions, ent, 'device'))).map((e) => /^target(\d+):/.exec(e)).find(Boolean);
    if (!hostEntry) continue;
    const host = hostEntry[1]!;
    const scsiDevices = join(roots.sys, 'bus', 'scsi', 'devices');
    for (const dev of await entries(scsiDevices)) {
      const m = new RegExp(`^${host}:(\\d+):(\\d+):(\\d+)$`).exec(dev);
      if (!m) continue;
      if ((await firstLine(join(scsiDevices, dev, 'type'))) !== '0') continue;
      let bdev = (await entries(join(scsiDevices, dev, 'block'))).find((e) => /^[A-Za-z]\S*$/.test(e));
      if (!bdev) continue;
      const holder = (await entries(join(roots.sys, 'block', bdev, 'holders'))).find((e) => /^[A-Za-z]\S*$/.test(e));
      if (holder) bdev = holder;
      const name = names.get(bdev);
      if (!name) continue;
      const sectors = Number(await firstLine(join(roots.sys, 'block', bdev, 'size')));
      if (!Number.isSafeInteger(sectors) || sectors <= 0) continue;
      const [channel, scsiId, lun] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const volname = `${channel}.${scsiId}.${lun}.${name}`;
      out.set(volname, { volname, channel, scsiId, lun, name, blockDevice: bdev, sizeBytes: sectors * 512 });
    }
  }
  return [...out.values()].sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

/** The physical devices below a kernel block device (through dm `slaves`, recursively). */
async function physicalDevicePaths(roots: HostRoots, bdev: string, seen = new Set<string>()): Promise<string[]> {
  const sysRoot = await realpath(roots.sys);
  const sysPath = await realpath(join(sysRoot, 'class', 'block', bdev)).catch(() => undefined);
  if (!sysPath) return [];
  const rel = sysPath.slice(sysRoot.length);
  if (!rel.startsWith('/devices/virtual/block/')) return [rel];
  const out: string[] = [];
  for (const slave of await entries(join(sysPath, 'slaves'))) {
    if (slave.startsWith('.') || seen.has(slave)) continue;
    seen.add(slave);
    out.push(...(await physicalDevicePaths(roots, slave, seen)));
  }
  return out;
}

/**
 * Checks that `/dev/disk/by-id/<name>` is a block device whose every physical device (through
 * dm `slaves`) is a LUN of a session logged in to `target` (Proxmox's activate_volume), and
 * returns its path. It does not check that `name` is one of the target's LUNs as
 * {@link listIscsiDevices} names them: a caller resolving a volname checks that first.
 *
 * @throws NotFoundError (kind `volume`, id `volid`) when the link or device is missing;
 *   InvalidStateError when it is no block device, or any device below it is not on `target`.
 */
export async function checkIscsiDevice(roots: HostRoots, target: string, name: string, volid: string): Promise<string> {
  const path = join(roots.dev, 'disk', 'by-id', name);
  const real = await realpath(path).catch(() => undefined);
  if (!real) throw new NotFoundError('volume', volid, `volume '${volid}' does not exist: no ${path} (is the target logged in?)`);
  if (!(await stat(real)).isBlockDevice()) throw new InvalidStateError('not-block-device', `volume '${volid}': ${real} is not a block device`);
  const below = await physicalDevicePaths(roots, basename(real));
  for (const p of below) {
    const m = /^\/devices\/platform\/host\d+\/session(\d+)\/target\d+:\d+:\d+/.exec(p);
    if (!m || (await firstLine(join(roots.sys, 'class', 'iscsi_session', `session${m[1]}`, 'targetname'))) !== target) {
      throw new InvalidStateError('foreign-device', `volume '${volid}' is not part of target '${target}': ${p} is not a LUN of it`);
    }
  }
  if (below.length === 0) throw new InvalidStateError('foreign-device', `volume '${volid}' is not part of target '${target}': no device below ${real}`);
  return path;
}

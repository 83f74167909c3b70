/**
 * Volume operations of a zfspool storage: listing, info, allocation, free and resize.
 * `subvol-`/`basevol-` volumes are filesystem datasets whose `refquota` is their size (0 =
 * none); `vm-`/`base-` volumes are zvols (`volsize`), created as Proxmox does (sizes rounded
 * up to 1 MiB).
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, type AllocateOptions, type StorageContent, type VolumeInfo } from '@corral/core';
import { ZfsCommands } from './ZfsCommands.js';
import { zfsFailure } from './zfsErrors.js';
import { retryWhileBusy } from './zfsBusyRetry.js';
import { zfsNumber, type ZfsProps } from './parseZfsGet.js';
import { isZfsVolumeName, parseZfsVolname, zfsNamePrefix, type ZfsVolname } from './zfsVolname.js';
import { waitForZvol } from './zfsAccess.js';
import type { ZfsSession } from './ZfsSession.js';

/** Properties read for listings and volume info. */
export const VOLUME_PROPS = Object.freeze(['type', 'volsize', 'refquota', 'origin', 'creation', 'usedbydataset']);

/** Name of the snapshot every base carries (Proxmox's). */
export const BASE_SNAPSHOT = '__base__';

const MiB = 1024 * 1024;

/** Rounds a zvol size up to whole MiB (Proxmox's workaround for openzfs#8541) or to the blocksize when larger. */
export function zvolSize(s: ZfsSession, sizeBytes: number): number {
  const unit = Math.max(MiB, s.opts.blocksizeBytes ?? 0);
  return Math.ceil(sizeBytes / unit) * unit;
}

/**
 * The volume name a dataset is known by: `base-X/<name>` for a linked clone of a base's
 * `__base__` snapshot (Proxmox's volid convention), `<name>` otherwise.
 */
export function volnameOf(s: ZfsSession, name: string, origin: string | undefined): string {
  const prefix = `${s.pool}/`;
  if (origin && origin.startsWith(prefix) && origin.endsWith(`@${BASE_SNAPSHOT}`)) {
    const base = origin.slice(prefix.length, -BASE_SNAPSHOT.length - 1);
    if (/^(?:base|basevol)-\d+-[^/@]+$/.test(base)) return `${base}/${name}`;
  }
  return name;
}

/** Builds a {@link VolumeInfo} from a dataset's properties; undefined for what is not a volume. */
export function toVolumeInfo(s: ZfsSession, name: string, props: ZfsProps): VolumeInfo | undefined {
  if (!isZfsVolumeName(name)) return undefined;
  const type = props.get('type');
  if (type !== 'filesystem' && type !== 'volume') return undefined;
  const origin = props.get('origin');
  const volname = volnameOf(s, name, origin === '-' ? undefined : origin);
  let parsed: ZfsVolname;
  try {
    parsed = parseZfsVolname(volname);
  } catch {
    return undefined;
  }
  const format = type === 'filesystem' ? 'subvol' : 'raw';
  if (format !== parsed.format) return undefined;
  return {
    volid: s.volid(volname),
    volname,
    content: format === 'subvol' ? 'rootdir' : 'images',
    format,
    sizeBytes: (format === 'subvol' ? zfsNumber(props.get('refquota')) : zfsNumber(props.get('volsize'))) ?? 0,
    usedBytes: zfsNumber(props.get('usedbydataset')),
    vmid: parsed.vmid,
    isBase: parsed.isBase,
    parent: parsed.baseVolname ? s.volid(parsed.baseVolname) : undefined,
    ctime: zfsNumber(props.get('creation')),
  };
}

/**
 * Lists the volumes directly below the pool dataset (`zfs get -Hp -d 1`), filtered by content
 * (`rootdir` = subvols, `images` = zvols) and guest, sorted by volname.
 */
export async function listZfsVolumes(s: ZfsSession, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
  let all: Map<string, Map<string, string>>;
  try {
    all = await s.get(VOLUME_PROPS, [s.pool], { depth: 1 });
  } catch (err) {
    s.fail(err);
  }
  const prefix = `${s.pool}/`;
  const out: VolumeInfo[] = [];
  for (const [full, props] of all) {
    if (!full.startsWith(prefix)) continue;
    const name = full.slice(prefix.length);
    if (name.includes('/') || name.includes('@')) continue;
    const info = toVolumeInfo(s, name, props);
    if (!info) continue;
    if (filter.vmid !== undefined && info.vmid !== filter.vmid) continue;
    if (filter.content !== undefined && info.content !== filter.content) continue;
    out.push(info);
  }
  return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

/**
 * Reads one dataset's properties.
 *
 * @throws NotFoundError (kind `volume`, naming `volid`) when the dataset does not exist.
 */
export async function datasetProps(s: ZfsSession, name: string, volid: string, props: readonly string[] = VOLUME_PROPS): Promise<Map<string, string>> {
  try {
    const got = await s.get(props, [s.dataset(name)]);
    return got.get(s.dataset(name)) ?? new Map();
  } catch (err) {
    s.fail(err, { volid });
  }
}

/**
 * Size, format, origin and usage of one volume. The volid in the answer is the canonical one
 * (with the `base-X/` prefix of a linked clone).
 *
 * @throws NotFoundError (kind `volume`).
 */
export async function zfsVolumeInfo(s: ZfsSession, volname: string): Promise<VolumeInfo> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  const props = await datasetProps(s, v.name, volid);
  const info = toVolumeInfo(s, v.name, props);
  if (!info) throw new InvalidArgumentError('volume', `'${s.dataset(v.name)}' is a ${props.get('type') ?? 'dataset'}, not a ${v.format} volume`);
  return info;
}

/** Checks that `name` is a valid volume name of `format` owned by `vmid`; returns it parsed. */
export function checkNewName(name: string, format: string, vmid: number): ZfsVolname {
  if (format !== 'raw' && format !== 'subvol') {
    throw new InvalidArgumentError('format', `zfspool volumes are 'raw' (zvol) or 'subvol' (filesystem), not '${format}'`);
  }
  const prefix = zfsNamePrefix(format, vmid);
  let parsed: ZfsVolname | undefined;
  try {
    parsed = parseZfsVolname(name);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !name.startsWith(prefix) || parsed.baseVolname !== undefined) {
    throw new InvalidArgumentError('name', `illegal name '${name}': a ${format} volume of guest ${vmid} is named '${prefix}<x>'`);
  }
  return parsed;
}

/**
 * Creates a subvol (`zfs create [-o acltype=posixacl -o xattr=sa] -o refquota=<bytes|none>`;
 * the ACL options only where this ZFS knows them) or a zvol (`zfs create [-s] [-b <bs>] -V
 * <bytes rounded up to 1 MiB>`, then waits for `/dev/zvol/<pool>/<name>`). Returns the volname.
 *
 * @throws AlreadyExistsError, StorageFullError, NotSupportedError (no zvols on zfs-fuse),
 *   UnavailableError (zvol device link did not appear; the zvol is destroyed again).
 */
export async function allocateZfsVolume(s: ZfsSession, options: AllocateOptions): Promise<string> {
  const v = checkNewName(options.name, options.format, options.vmid);
  const volid = s.volid(v.name);
  const ds = s.dataset(v.name);
  if (v.format === 'subvol') {
    const posixAcl = await s.posixAclSupported();
    try {
      await s.run(ZfsCommands.createFilesystem(ds, { refquotaBytes: options.sizeBytes, posixAcl }));
    } catch (err) {
      s.fail(err, { volid, requestedBytes: options.sizeBytes });
    }
    return v.name;
  }
  const sizeBytes = zvolSize(s, options.sizeBytes);
  try {
    await s.run(ZfsCommands.createVolume(ds, { sizeBytes, sparse: s.opts.sparse, blocksize: s.opts.blocksize }));
  } catch (err) {
    if (zfsFailure(err) === 'no-zvols') await destroyQuietly(s, ds);
    s.fail(err, { volid, requestedBytes: sizeBytes });
  }
  try {
    await waitForZvol(s, v.name);
  } catch (err) {
    await destroyQuietly(s, ds);
    throw err;
  }
  return v.name;
}

/** Destroys a dataset (recursively) if it exists, ignoring errors (undo steps). */
export async function destroyQuietly(s: ZfsSession, target: string): Promise<void> {
  await destroyWithRetry(s, target, { recursive: true }).catch((err: unknown) => {
    if (zfsFailure(err) !== 'missing') s.ctx.log.warn(`storage '${s.sid}': could not destroy '${target}': ${(err as Error).message}`);
  });
}

/**
 * `zfs destroy [-r] <target>`, retried while the dataset is busy ({@link retryWhileBusy}). A
 * dataset that vanished during the retries counts as destroyed. Rejects with the raw command error.
 */
export async function destroyWithRetry(s: ZfsSession, target: string, options: { recursive?: boolean } = {}): Promise<void> {
  await retryWhileBusy(s, target, async (tryNumber) => {
    try {
      await s.run(ZfsCommands.destroy(target, options));
    } catch (err) {
      if (tryNumber > 0 && zfsFailure(err) === 'missing') return;
      throw err;
    }
  }, { unmountBetweenTries: true });
}

/**
 * Destroys a volume with its snapshots (`zfs destroy -r`). A base whose snapshots have linked
 * clones is refused by ZFS before anything is destroyed.
 *
 * @throws NotFoundError (kind `volume`), ConflictError (linked clones, busy).
 */
export async function freeZfsVolume(s: ZfsSession, volname: string): Promise<void> {
  const v = parseZfsVolname(volname);
  try {
    await destroyWithRetry(s, s.dataset(v.name), { recursive: true });
  } catch (err) {
    s.fail(err, { volid: s.volid(volname) });
  }
}

/**
 * Sets the size: `refquota=<bytes>` for a subvol, `volsize=<bytes rounded up to 1 MiB>` for a
 * zvol. Shrinking is not offered (the facade refuses it before the driver runs).
 *
 * @throws NotFoundError (kind `volume`), StorageFullError.
 */
export async function resizeZfsVolume(s: ZfsSession, volname: string, sizeBytes: number): Promise<void> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  const [prop, value] = v.format === 'subvol' ? ['refquota', sizeBytes] : ['volsize', zvolSize(s, sizeBytes)];
  try {
    await s.run(ZfsCommands.set(s.dataset(v.name), prop, String(value)));
  } catch (err) {
    s.fail(err, { volid, requestedBytes: value });
  }
}

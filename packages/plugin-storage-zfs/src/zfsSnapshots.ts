/**
 * Snapshots of zfspool volumes, as Proxmox's ZFSPoolPlugin: `zfs snapshot`, `zfs rollback`
 * (only to the most recent snapshot), `zfs destroy <ds>@<snap>`. For subvols the refquota is
 * tracked in the user property `pve-storage:refquota` of each snapshot (ZFS does not roll
 * refquota back) and restored on rollback.
 *
 * @packageDocumentation
 */
import type { VolumeSnapshotInfo } from '@corral/core';
import { ZfsCommands } from './ZfsCommands.js';
import { zfsFailure } from './zfsErrors.js';
import { zfsNumber } from './parseZfsGet.js';
import { parseZfsVolname } from './zfsVolname.js';
import { destroyWithRetry, datasetProps } from './zfsVolumes.js';
import type { ZfsSession } from './ZfsSession.js';

/** User property holding a subvol's refquota at snapshot time (Proxmox's name, so volumes stay compatible). */
export const REFQUOTA_USER_PROPERTY = 'pve-storage:refquota';

/**
 * Takes `<ds>@<snapshot>`; for a subvol also records its refquota on the snapshot.
 *
 * @throws NotFoundError (kind `volume`), AlreadyExistsError (kind `snapshot`), StorageFullError.
 */
export async function createZfsSnapshot(s: ZfsSession, volname: string, snapshot: string): Promise<void> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  const ds = s.dataset(v.name);
  const snap = `${ds}@${snapshot}`;
  try {
    await s.run(ZfsCommands.snapshot(snap));
  } catch (err) {
    if (zfsFailure(err) === 'exists') s.fail(err, { volid, snapshot });
    s.fail(err, { volid });
  }
  if (v.format === 'subvol') {
    try {
      const refquota = (await datasetProps(s, v.name, volid, ['refquota'])).get('refquota') ?? '0';
      await s.run(ZfsCommands.set(snap, REFQUOTA_USER_PROPERTY, refquota));
    } catch (err) {
      await destroyWithRetry(s, snap).catch(() => undefined);
      s.fail(err, { volid, snapshot });
    }
  }
}

/**
 * Snapshots of a volume, oldest first (by `createtxg`). Names starting with `__` (the
 * template's `__base__`, temporary export snapshots) are internal and left out.
 *
 * @throws NotFoundError (kind `volume`).
 */
export async function listZfsSnapshots(s: ZfsSession, volname: string): Promise<VolumeSnapshotInfo[]> {
  const v = parseZfsVolname(volname);
  const ds = s.dataset(v.name);
  let all: Map<string, Map<string, string>>;
  try {
    all = await s.get(['createtxg', 'creation'], [ds], { depth: 1 });
  } catch (err) {
    s.fail(err, { volid: s.volid(volname) });
  }
  const snaps: Array<VolumeSnapshotInfo & { txg: number }> = [];
  for (const [name, props] of all) {
    if (!name.startsWith(`${ds}@`)) continue;
    const snap = name.slice(ds.length + 1);
    if (snap.startsWith('__')) continue;
    snaps.push({ name: snap, ctime: zfsNumber(props.get('creation')), txg: zfsNumber(props.get('createtxg')) ?? 0 });
  }
  return snaps.sort((a, b) => a.txg - b.txg).map(({ name, ctime }) => ({ name, ctime }));
}

/**
 * `zfs rollback <ds>@<snapshot>`: refused by ZFS unless it is the most recent snapshot. A
 * subvol gets the refquota recorded on the snapshot back and is remounted (Proxmox unmounts
 * it to drop stale kernel caches, openzfs#10931).
 *
 * @throws NotFoundError (kind `snapshot`), ConflictError (not the most recent snapshot).
 */
export async function rollbackZfsSnapshot(s: ZfsSession, volname: string, snapshot: string): Promise<void> {
  const v = parseZfsVolname(volname);
  const volid = s.volid(volname);
  const ds = s.dataset(v.name);
  const snap = `${ds}@${snapshot}`;
  try {
    await s.run(ZfsCommands.rollback(snap));
  } catch (err) {
    s.fail(err, { volid, snapshot });
  }
  if (v.format !== 'subvol') return;
  try {
    const value = (await s.get([REFQUOTA_USER_PROPERTY], [snap])).get(snap)?.get(REFQUOTA_USER_PROPERTY);
    if (value !== undefined && /^\d+$/.test(value)) {
      await s.run(ZfsCommands.set(ds, 'refquota', value === '0' ? 'none' : value));
    } else if (value !== undefined && value !== '-') {
      s.ctx.log.warn(`${volid}@${snapshot}: property ${REFQUOTA_USER_PROPERTY} has unknown value '${value}', refquota left as is`);
    }
  } catch (err) {
    s.fail(err, { volid, snapshot });
  }
  try {
    await s.run(ZfsCommands.unmount(ds));
    await s.run(ZfsCommands.mount(ds));
  } catch (err) {
    if (zfsFailure(err) !== 'not-mounted') s.ctx.log.warn(`${volid}: remount after rollback failed: ${(err as Error).message}`);
  }
}

/**
 * `zfs destroy <ds>@<snapshot>`.
 *
 * @throws NotFoundError (kind `snapshot`), ConflictError (the snapshot has linked clones).
 */
export async function deleteZfsSnapshot(s: ZfsSession, volname: string, snapshot: string): Promise<void> {
  const v = parseZfsVolname(volname);
  try {
    await destroyWithRetry(s, `${s.dataset(v.name)}@${snapshot}`);
  } catch (err) {
    s.fail(err, { volid: s.volid(volname), snapshot });
  }
}

/**
 * Volume snapshots as read-only subvolume snapshots next to the volume's subvolume
 * (`<subvolume>@<snapshot>`), as BTRFSPlugin's `volume_snapshot`, `volume_snapshot_rollback`
 * and `volume_snapshot_delete` make them.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { rename, stat } from 'node:fs/promises';
import { AlreadyExistsError, NotFoundError, type VolumeSnapshotInfo } from '@corral/core';
import { BtrfsCommands } from './BtrfsCommands.js';
import { runBtrfs, volidOf, type BtrfsContext } from './BtrfsContext.js';
import { mapNoSpace } from './btrfsErrors.js';
import { setSubvolumeSize, subvolumeQuotas } from './btrfsQuota.js';
import { dropSubvolume, guestVolume, pathExists, requireVolume, snapshotDirs, subvolumeDirName, subvolumeOf, type GuestVolume } from './btrfsVolumes.js';

/** `btrfs subvolume snapshot -r <subvolume> <subvolume>@<snapshot>`. @throws NotFoundError, AlreadyExistsError */
export async function createSnapshot(bc: BtrfsContext, volname: string, snapshot: string): Promise<void> {
  const v = guestVolume(bc, volname, 'snapshot');
  await requireVolume(bc, volname, v);
  const target = subvolumeOf(bc, v, snapshot);
  if (await pathExists(target)) throw new AlreadyExistsError('snapshot', `${volidOf(bc, volname)}@${snapshot}`);
  try {
    await runBtrfs(bc, BtrfsCommands.snapshot(subvolumeOf(bc, v), target, true));
  } catch (err) {
    throw await mapNoSpace(err, bc.sid, bc.layout.root);
  }
}

/** The snapshots of a volume, by name, with their creation time (the snapshot's birth time). */
export async function listSnapshots(bc: BtrfsContext, volname: string): Promise<VolumeSnapshotInfo[]> {
  const v = guestVolume(bc, volname, 'snapshot list');
  await requireVolume(bc, volname, v);
  const prefix = `${subvolumeDirName(v)}@`;
  const out: VolumeSnapshotInfo[] = [];
  for (const dir of await snapshotDirs(bc, v)) {
    const st = await stat(`${bc.layout.guestDir(v.vmid)}/${dir}`).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const born = st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs;
    out.push({ name: dir.slice(prefix.length), ctime: Math.floor(born / 1000) });
  }
  return out.sort((a, b) => (a.ctime ?? 0) - (b.ctime ?? 0) || (a.name < b.name ? -1 : 1));
}

/** The qgroup limit of a container subvolume on a `quotas` storage, else 0. */
async function currentLimit(bc: BtrfsContext, v: GuestVolume): Promise<number> {
  if (v.format !== 'subvol' || !bc.options.quotas) return 0;
  return (await subvolumeQuotas(bc)).get(`${v.vmid}/${subvolumeDirName(v)}`)?.limitBytes ?? 0;
}

/**
 * Puts the snapshot's state in place of the volume: a writable snapshot of the snapshot is
 * made beside the volume, the volume is moved aside, the new one moved in, the old one
 * deleted (BTRFSPlugin swaps with `renameat2(RENAME_EXCHANGE)`, which Node cannot call; a
 * failed move puts the old volume back). A subvolume keeps its qgroup limit. The snapshot
 * stays.
 *
 * @throws NotFoundError (volume or snapshot), StorageFullError.
 */
export async function rollbackSnapshot(bc: BtrfsContext, volname: string, snapshot: string): Promise<void> {
  const v = guestVolume(bc, volname, 'rollback');
  await requireVolume(bc, volname, v);
  await requireVolume(bc, volname, v, snapshot);
  const path = subvolumeOf(bc, v);
  const suffix = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const fresh = `${path}.tmp.${suffix}`;
  const old = `${path}.old.${suffix}`;
  const limit = await currentLimit(bc, v);
  try {
    await runBtrfs(bc, BtrfsCommands.snapshot(subvolumeOf(bc, v, snapshot), fresh, false));
  } catch (err) {
    throw await mapNoSpace(err, bc.sid, bc.layout.root);
  }
  try {
    if (limit > 0) await setSubvolumeSize(bc, volname, fresh, limit);
    await rename(path, old);
  } catch (err) {
    await dropSubvolume(bc, fresh);
    throw err;
  }
  try {
    await rename(fresh, path);
  } catch (err) {
    await rename(old, path).catch((e: unknown) => bc.log.error(`storage '${bc.sid}': could not move '${old}' back to '${path}': ${(e as Error).message}`));
    await dropSubvolume(bc, fresh);
    throw err;
  }
  await dropSubvolume(bc, old);
}

/** Deletes snapshot subvolume `<subvolume>@<snapshot>`. @throws NotFoundError */
export async function deleteSnapshot(bc: BtrfsContext, volname: string, snapshot: string): Promise<void> {
  const v = guestVolume(bc, volname, 'snapshot delete');
  const target = subvolumeOf(bc, v, snapshot);
  if (!(await pathExists(target))) throw new NotFoundError('snapshot', `${volidOf(bc, volname)}@${snapshot}`);
  await runBtrfs(bc, BtrfsCommands.subvolumeDelete([target]));
}

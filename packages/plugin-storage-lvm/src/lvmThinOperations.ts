/**
 * What only lvmthin does: thin snapshots `snap_<volname>_<snap>` (read-only, skipped by
 * activation), rollback by re-creating the volume as a thin snapshot of the snapshot,
 * templates `base-<vmid>-<x>` (renamed, read-only, skipped by activation) and linked clones as
 * writable thin snapshots of a base or snapshot, as Proxmox's LvmThinPlugin.
 *
 * @packageDocumentation
 */
import { ConflictError, InvalidArgumentError, NotFoundError, type VolumeSnapshotInfo } from '@corral/core';
import { LvmCommands } from './LvmCommands.js';
import { lvmBaseName, thinSnapshotLv } from './lvmVolname.js';
import { isListedLv, removeLv, setNoAutoactivation, snapshotLvsOf, volumeLv } from './lvmVolumes.js';
import type { LvmSession } from './LvmSession.js';

/** `lvcreate -n snap_<volname>_<snap> -pr -s <vg>/<volname>`. @throws NotFoundError, AlreadyExistsError. */
export async function createThinSnapshot(s: LvmSession, volname: string, snapshot: string): Promise<void> {
  const v = s.parse(volname);
  await volumeLv(s, volname);
  try {
    await s.run(LvmCommands.thinSnapshot(s.vg, v.name, thinSnapshotLv(v.name, snapshot)));
  } catch (err) {
    s.fail(err, { volid: s.volid(volname), snapshot });
  }
}

/** The volume's thin snapshots, oldest first (by creation time, then name). @throws NotFoundError. */
export async function listThinSnapshots(s: LvmSession, volname: string): Promise<VolumeSnapshotInfo[]> {
  const v = s.parse(volname);
  const all = await s.listLvs();
  if (!all.some((lv) => lv.name === v.name)) throw new NotFoundError('volume', s.volid(volname));
  return snapshotLvsOf(all, v.name)
    .filter(({ lv }) => lv.origin === v.name || lv.type === 'V')
    .map(({ lv, snapshot }) => ({ name: snapshot, ctime: lv.ctime }))
    .sort((a, b) => (a.ctime ?? 0) - (b.ctime ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Name the current volume is parked under during a rollback (never listed: not a volume name). */
function parkedName(volname: string): string {
  return `rollback_${volname}`;
}

/**
 * Restores a volume to a snapshot. Proxmox removes the volume and re-creates it as a thin
 * snapshot of the snapshot; here the volume is first renamed `rollback_<volname>`, so that a
 * failed re-creation renames it back (nothing is lost), and removed only afterwards.
 *
 * @throws NotFoundError (volume or snapshot).
 */
export async function rollbackThinSnapshot(s: LvmSession, volname: string, snapshot: string): Promise<void> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  await volumeLv(s, volname);
  const snapLv = thinSnapshotLv(v.name, snapshot);
  if (!(await s.findLv(snapLv))) throw new NotFoundError('snapshot', `${volid}@${snapshot}`, `snapshot '${snapshot}' of '${volid}' does not exist`);
  const parked = parkedName(v.name);
  try {
    await s.run(LvmCommands.lvrename(s.vg, v.name, parked));
  } catch (err) {
    s.fail(err, { volid });
  }
  try {
    await s.run(LvmCommands.thinRestore(s.vg, snapLv, v.name));
  } catch (err) {
    await s.run(LvmCommands.lvrename(s.vg, parked, v.name)).catch((e: unknown) => s.ctx.log.error(`storage '${s.sid}': rollback of '${volid}' failed and '${s.vg}/${parked}' could not be renamed back: ${(e as Error).message}`));
    s.fail(err, { volid, snapshot });
  }
  await setNoAutoactivation(s, v.name);
  await removeLv(s, parked, volid).catch((e: unknown) => s.ctx.log.warn(`storage '${s.sid}': rolled back '${volid}' but could not remove the old state '${s.vg}/${parked}': ${(e as Error).message}`));
}

/** `lvremove -f <vg>/snap_<volname>_<snap>`. @throws NotFoundError (kind `snapshot`). */
export async function deleteThinSnapshot(s: LvmSession, volname: string, snapshot: string): Promise<void> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  const snapLv = thinSnapshotLv(v.name, snapshot);
  if (!(await s.findLv(snapLv))) throw new NotFoundError('snapshot', `${volid}@${snapshot}`, `snapshot '${snapshot}' of '${volid}' does not exist`);
  await removeLv(s, snapLv, volid, snapshot);
}

/**
 * Removes a thin volume with its snapshots (snapshots first, as Proxmox's free_image). A base
 * whose linked clones still exist is refused, as the storage contract wants for every type
 * (Proxmox lets lvmthin remove it: thin clones share blocks, not metadata, with their origin).
 *
 * @throws NotFoundError (kind `volume`), ConflictError (a base with linked clones).
 */
export async function freeThinVolume(s: LvmSession, volname: string): Promise<void> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  const all = await s.listLvs();
  if (!all.some((lv) => lv.name === v.name)) throw new NotFoundError('volume', volid);
  const clones = v.isBase ? all.filter((lv) => lv.origin === v.name && isListedLv(s, lv)).map((lv) => s.volid(lv.name)) : [];
  if (clones.length > 0) throw new ConflictError(`${volid} has linked clones: ${clones.join(', ')}`);
  for (const { snapshot, lv } of snapshotLvsOf(all, v.name)) await removeLv(s, lv.name, volid, snapshot);
  await removeLv(s, v.name, volid);
}

/**
 * Turns a thin volume into a template base: renamed `base-...`, then set read-only and
 * skipped by activation (`lvchange -pr -ky`) and deactivated (both warnings only, as
 * Proxmox). Refused while the volume has snapshots. Returns the new volname.
 *
 * @throws NotFoundError, ConflictError (snapshots exist), InvalidArgumentError (already a base).
 */
export async function createThinBase(s: LvmSession, volname: string): Promise<string> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  if (v.isBase) throw new InvalidArgumentError('volume', `'${volid}' is a base already`);
  const all = await s.listLvs();
  if (!all.some((lv) => lv.name === v.name)) throw new NotFoundError('volume', volid);
  const snaps = snapshotLvsOf(all, v.name);
  if (snaps.length > 0) throw new ConflictError(`cannot make '${volid}' a base: it has snapshots (${snaps.map((x) => x.snapshot).join(', ')})`);
  const base = lvmBaseName(v.name);
  try {
    await s.run(LvmCommands.lvrename(s.vg, v.name, base));
  } catch (err) {
    s.fail(err, { volid: s.volid(base) });
  }
  for (const argv of [LvmCommands.makeBase(s.vg, base), LvmCommands.deactivate(s.vg, base, 'thin')]) {
    await s.run(argv).catch((err: unknown) => s.ctx.log.warn(`storage '${s.sid}': '${argv.join(' ')}' failed: ${(err as Error).message}`));
  }
  return base;
}

/**
 * A linked clone: a writable thin snapshot (`lvcreate -n <name> -prw -kn -s`) of a base, or of
 * a snapshot of any volume. Returns the clone's volname (its LV name: Proxmox's lvmthin
 * volids do not name the base; `VolumeInfo.parent` reports it from the LV's origin).
 *
 * @throws NotFoundError, InvalidArgumentError (not a base and no snapshot), AlreadyExistsError.
 */
export async function cloneThinVolume(s: LvmSession, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  await volumeLv(s, volname);
  let origin = v.name;
  if (options.snapshot !== undefined) {
    origin = thinSnapshotLv(v.name, options.snapshot);
    if (!(await s.findLv(origin))) throw new NotFoundError('snapshot', `${volid}@${options.snapshot}`, `snapshot '${options.snapshot}' of '${volid}' does not exist`);
  } else if (!v.isBase) {
    throw new InvalidArgumentError('volume', `a linked clone needs a base or a snapshot; '${volid}' is neither`);
  }
  const target = s.parse(options.name);
  if (target.isBase || target.vmid !== options.vmid) throw new InvalidArgumentError('name', `illegal name '${options.name}': a clone for guest ${options.vmid} is named 'vm-${options.vmid}-<x>'`);
  try {
    await s.run(LvmCommands.thinClone(s.vg, origin, target.name));
  } catch (err) {
    s.fail(err, { volid: s.volid(target.name) });
  }
  await setNoAutoactivation(s, target.name);
  return target.name;
}

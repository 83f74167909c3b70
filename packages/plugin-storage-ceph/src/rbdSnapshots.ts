/**
 * Snapshots of rbd images, as Proxmox's RBDPlugin: `rbd snap create|rollback|rm`; a protected
 * snapshot (the source of linked clones) is unprotected before removal.
 *
 * @packageDocumentation
 */
import type { VolumeSnapshotInfo } from '@corral/core';
import { parseRbdSnapshots } from './parseRbdJson.js';
import { rbdFailure } from './rbdErrors.js';
import { parseRbdVolname } from './rbdVolname.js';
import { rbdImageInfo } from './rbdVolumes.js';
import { unmapAll } from './rbdKrbd.js';
import type { RbdSession } from './RbdSession.js';

/** `rbd snap create <spec>@<snap>`. Throws NotFoundError (volume), AlreadyExistsError (snapshot). */
export async function createRbdSnapshot(s: RbdSession, volname: string, snapshot: string): Promise<void> {
  const v = parseRbdVolname(volname);
  const volid = s.volid(volname);
  try {
    await s.exec(s.cmd.snapCreate(v.name, snapshot));
  } catch (err) {
    // A missing image is the volume's NotFound; a taken name is the snapshot's AlreadyExists.
    s.fail(err, rbdFailure(err) === 'exists' ? { volid, snapshot } : { volid });
  }
}

/**
 * Snapshots of an image in creation order (`rbd snap ls`). `__base__` (templates) is internal
 * and left out.
 *
 * @throws NotFoundError (kind `volume`).
 */
export async function listRbdSnapshots(s: RbdSession, volname: string): Promise<VolumeSnapshotInfo[]> {
  const v = parseRbdVolname(volname);
  const r = await s.run(s.cmd.snapList(v.name), { volid: s.volid(volname) });
  return parseRbdSnapshots(r.stdout)
    .filter((x) => !x.name.startsWith('__'))
    .map((x) => ({ name: x.name, ctime: x.ctime }));
}

/** `rbd snap rollback <spec>@<snap>` (any snapshot, not only the newest). Throws NotFoundError (snapshot). */
export async function rollbackRbdSnapshot(s: RbdSession, volname: string, snapshot: string): Promise<void> {
  const v = parseRbdVolname(volname);
  await s.run(s.cmd.snapRollback(v.name, snapshot), { volid: s.volid(volname), snapshot });
}

/**
 * Removes a snapshot: unmaps it, unprotects it when protected (refused while it has clones),
 * `rbd snap rm`.
 *
 * @throws NotFoundError (snapshot), ConflictError (it has linked clones).
 */
export async function deleteRbdSnapshot(s: RbdSession, volname: string, snapshot: string): Promise<void> {
  const v = parseRbdVolname(volname);
  const volid = s.volid(volname);
  await unmapAll(s, v.name, snapshot);
  const info = await rbdImageInfo(s, v, snapshot);
  if (info.protected) await s.run(s.cmd.snapUnprotect(v.name, snapshot), { volid, snapshot });
  await s.run(s.cmd.snapRemove(v.name, snapshot), { volid, snapshot });
}

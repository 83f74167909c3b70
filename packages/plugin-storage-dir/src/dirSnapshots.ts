/**
 * Internal qcow2 snapshots (`qemu-img snapshot -c/-a/-d`, listing from `qemu-img info`), as
 * pve-storage's `volume_snapshot*` for file-based storages. The guest must not be running.
 *
 * @packageDocumentation
 */
import { AlreadyExistsError, NotFoundError, NotSupportedError, type VolumeSnapshotInfo } from '@corral/core';
import { volidOf, type DirContext } from './DirContext.js';
import { dirVolumeInfo, parseImage } from './dirImages.js';
import { qemuImgInfo } from './imageFileInfo.js';

const TIMEOUT_MS = 120_000;

async function qcow2Path(dc: DirContext, volname: string, operation: string): Promise<string> {
  const v = parseImage(dc, volname, operation);
  if (v.format !== 'qcow2') throw new NotSupportedError(operation, `dir storage snapshots need qcow2, '${volidOf(dc, volname)}' is ${v.format}`);
  await dirVolumeInfo(dc, volname);
  return dc.layout.pathOf(v);
}

/** Snapshots of a volume (none for formats without internal snapshots). */
export async function listSnapshots(dc: DirContext, volname: string): Promise<VolumeSnapshotInfo[]> {
  const v = parseImage(dc, volname, 'snapshot list');
  if (v.format !== 'qcow2') {
    await dirVolumeInfo(dc, volname);
    return [];
  }
  const path = await qcow2Path(dc, volname, 'snapshot list');
  const info = await qemuImgInfo(dc.runner, path, 'qcow2', dc.signal);
  const snaps = Array.isArray(info.snapshots) ? (info.snapshots as Array<{ name?: unknown; 'date-sec'?: unknown }>) : [];
  return snaps
    .filter((s) => typeof s.name === 'string')
    .map((s) => ({ name: s.name as string, ctime: typeof s['date-sec'] === 'number' ? s['date-sec'] : undefined }));
}

async function requireSnapshot(dc: DirContext, volname: string, snapshot: string): Promise<void> {
  if (!(await listSnapshots(dc, volname)).some((s) => s.name === snapshot)) {
    throw new NotFoundError('snapshot', `${volidOf(dc, volname)}@${snapshot}`);
  }
}

/** `qemu-img snapshot -c`. Throws AlreadyExistsError for a taken name. */
export async function createSnapshot(dc: DirContext, volname: string, snapshot: string): Promise<void> {
  const path = await qcow2Path(dc, volname, 'snapshot');
  if ((await listSnapshots(dc, volname)).some((s) => s.name === snapshot)) {
    throw new AlreadyExistsError('snapshot', `${volidOf(dc, volname)}@${snapshot}`);
  }
  await dc.runner.run(['qemu-img', 'snapshot', '-c', snapshot, path], { timeoutMs: TIMEOUT_MS, signal: dc.signal });
}

/** `qemu-img snapshot -a`: the volume's bytes become the snapshot's. */
export async function rollbackSnapshot(dc: DirContext, volname: string, snapshot: string): Promise<void> {
  const path = await qcow2Path(dc, volname, 'rollback');
  await requireSnapshot(dc, volname, snapshot);
  await dc.runner.run(['qemu-img', 'snapshot', '-a', snapshot, path], { timeoutMs: TIMEOUT_MS, signal: dc.signal });
}

/** `qemu-img snapshot -d`. */
export async function deleteSnapshot(dc: DirContext, volname: string, snapshot: string): Promise<void> {
  const path = await qcow2Path(dc, volname, 'snapshot delete');
  await requireSnapshot(dc, volname, snapshot);
  await dc.runner.run(['qemu-img', 'snapshot', '-d', snapshot, path], { timeoutMs: TIMEOUT_MS, signal: dc.signal });
}

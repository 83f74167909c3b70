import { InvalidArgumentError, NotFoundError, ParseError } from '../../errors.js';
import type { VolumeSnapshotInfo } from '../../contracts/storage.js';
import { volidOf, type ShareContext } from './ShareContext.js';
import { existingImage, QEMU_IMG_TIMEOUT_MS } from './shareImages.js';

async function qcow2Path(nc: ShareContext, volname: string): Promise<string> {
  const v = await existingImage(nc, volname);
  if (v.format !== 'qcow2') throw new InvalidArgumentError('volname', `'${volidOf(nc, volname)}' is ${v.format}; snapshots need qcow2`);
  return nc.layout.pathOf(v);
}

/** Internal qcow2 snapshots of an image, from `qemu-img info --output=json` (`snapshots[]`). */
export async function listShareSnapshots(nc: ShareContext, volname: string): Promise<VolumeSnapshotInfo[]> {
  const path = await qcow2Path(nc, volname);
  const res = await nc.runner.run(['qemu-img', 'info', '-U', '--output=json', '-f', 'qcow2', path], { timeoutMs: QEMU_IMG_TIMEOUT_MS, signal: nc.signal });
  let info: { snapshots?: Array<{ name?: unknown; 'date-sec'?: unknown }> };
  try {
    info = JSON.parse(res.stdout) as typeof info;
  } catch (err) {
    throw new ParseError('qemu-img info', `not JSON for '${path}'`, undefined, {
      cause: err,
    });
  }
  return (info.snapshots ?? [])
    .filter((s): s is { name: string; 'date-sec'?: unknown } => typeof s.name === 'string')
    .map((s) => ({
      name: s.name,
      ...(typeof s['date-sec'] === 'number' ? { ctime: s['date-sec'] } : {}),
    }));
}

async function snapshotOp(nc: ShareContext, volname: string, flag: '-c' | '-a' | '-d', snapshot: string): Promise<void> {
  const path = await qcow2Path(nc, volname);
  if (flag !== '-c' && !(await listShareSnapshots(nc, volname)).some((s) => s.name === snapshot)) {
    throw new NotFoundError('snapshot', `${volidOf(nc, volname)}@${snapshot}`);
  }
  await nc.runner.run(['qemu-img', 'snapshot', flag, snapshot, path], {
    timeoutMs: QEMU_IMG_TIMEOUT_MS,
    signal: nc.signal,
  });
}

/** `qemu-img snapshot -c` (the facade has checked the name and that it is new). */
export function createShareSnapshot(nc: ShareContext, volname: string, snapshot: string): Promise<void> {
  return snapshotOp(nc, volname, '-c', snapshot);
}

/** `qemu-img snapshot -a`. @throws NotFoundError for an unknown snapshot. */
export function rollbackShareSnapshot(nc: ShareContext, volname: string, snapshot: string): Promise<void> {
  return snapshotOp(nc, volname, '-a', snapshot);
}

/** `qemu-img snapshot -d`. @throws NotFoundError for an unknown snapshot. */
export function deleteShareSnapshot(nc: ShareContext, volname: string, snapshot: string): Promise<void> {
  return snapshotOp(nc, volname, '-d', snapshot);
}

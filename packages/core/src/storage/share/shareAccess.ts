import { NotFoundError, NotSupportedError } from '../../errors.js';
import { refuseArchiveMember } from '../fileStorageContent.js';
import type { VolumeAccess, VolumeConsumer } from '../../contracts/storage.js';
import { volidOf, type ShareContext } from './ShareContext.js';
import { exists } from './shareImages.js';
import { imageFileFacts } from './imageFileFacts.js';
import { parseShareVolname, type ShareVolname } from './shareVolname.js';

/**
 * One existing volume file on a mounted share, as `ShareType.qemuAccess` sees it when
 * it decides whether QEMU opens the file over the network instead of through the mount.
 */
export interface ShareFile {
  /** The decoded volume name. */
  readonly volume: ShareVolname;
  /** Absolute path of the file on the mount point. */
  readonly path: string;
  /** The file's path relative to the mount point (`images/100/vm-100-disk-0.qcow2`), what a server-side path appends to the share root. */
  readonly relativePath: string;
  /** True for a qcow2 with a backing file (a linked clone, whatever form its volname has); runs `qemu-img info` on qcow2s. */
  hasBackingFile(): Promise<boolean>;
}

/** True for a qcow2 with a backing file (a linked clone, whatever form its volname has). */
async function hasBackingFile(nc: ShareContext, path: string, v: ShareVolname): Promise<boolean> {
  if (v.base) return true;
  if (v.format !== 'qcow2') return false;
  return (await imageFileFacts(nc, path, 'qcow2')).backingFile !== undefined;
}

/**
 * How a consumer reaches a volume: for consumer `qemu`, what the type's
 * `ShareType.qemuAccess` answers (e.g. nfs: a libnfs blockdev), else, and for host
 * processes and containers, the file on the mount point (kind `file`).
 *
 * @throws NotFoundError when the file is missing; NotSupportedError for a snapshot (qcow2
 *   snapshots live inside the file).
 */
export async function resolveShareVolume(nc: ShareContext, volname: string, consumer: VolumeConsumer, snapshot: string | undefined): Promise<VolumeAccess> {
  const v = parseShareVolname(volname);
  refuseArchiveMember(volidOf(nc, volname), v, 'resolve');
  if (snapshot !== undefined) {
    throw new NotSupportedError(
      'resolve snapshot',
      `storage '${nc.sid}' cannot give access to snapshot '${snapshot}' of '${volidOf(nc, volname)}' (internal qcow2 snapshots live inside the file)`
    );
  }
  const path = nc.layout.pathOf(v);
  if (!(await exists(path))) throw new NotFoundError('volume', volidOf(nc, volname));
  if (consumer === 'qemu' && nc.qemuAccess) {
    const remote = await nc.qemuAccess({
      volume: v,
      path,
      relativePath: nc.layout.relativePathOf(v),
      hasBackingFile: () => hasBackingFile(nc, path, v),
    });
    if (remote) return remote;
  }
  return { kind: 'file', path, format: v.format };
}

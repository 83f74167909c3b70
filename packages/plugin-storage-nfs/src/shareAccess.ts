import { isIPv6 } from 'node:net';
import { posix } from 'node:path';
import { NotFoundError, NotSupportedError, refuseArchiveMember, type VolumeAccess, type VolumeConsumer } from '@corral/core';
import { volidOf, type ShareContext } from './ShareContext.js';
import { exists } from './shareImages.js';
import { imageFileFacts } from './imageFileFacts.js';
import { parseShareVolname, type ShareVolname } from './shareVolname.js';

/** Where a volume's file is on the server: host and absolute path inside the export. */
export interface NfsFileLocation {
  readonly server: string;
  /** `<export>/<path relative to the mount point>`. */
  readonly path: string;
}

/**
 * The `qemu` access of a file on the server: a `-blockdev` protocol node of QEMU's libnfs
 * driver (`{ driver: 'nfs', server: { type: 'inet', host }, path }`) and the same as an
 * `nfs://<server>/<export>/<file>` URL (for `qemu-img`, `qemu-io`, humans).
 */
export function nfsQemuAccess(loc: NfsFileLocation, format: ShareVolname['format']): Extract<VolumeAccess, { kind: 'qemu' }> {
  const host = isIPv6(loc.server) ? `[${loc.server}]` : loc.server;
  return {
    kind: 'qemu',
    blockdev: {
      driver: 'nfs',
      server: { type: 'inet', host: loc.server },
      path: loc.path,
    },
    url: `nfs://${host}${loc.path}`,
    format,
  };
}

/** The location of a decoded volume on the server (the mount point maps to the export). */
export function nfsFileLocation(qemuExport: { server: string; export: string }, nc: ShareContext, v: ShareVolname): NfsFileLocation {
  return { server: qemuExport.server, path: posix.join(qemuExport.export, nc.layout.relativePathOf(v)) };
}

/** True for a qcow2 with a backing file (a linked clone, whatever form its volname has). */
async function hasBackingFile(nc: ShareContext, path: string, v: ShareVolname): Promise<boolean> {
  if (v.base) return true;
  if (v.format !== 'qcow2') return false;
  return (await imageFileFacts(nc, path, 'qcow2')).backingFile !== undefined;
}

/**
 * How a consumer reaches a volume. On nfs (a type with `qemuExport`), QEMU opens images (and
 * isos) straight from the server through libnfs (kind `qemu`, see {@link nfsQemuAccess}), so
 * a VM disk needs no kernel mount. Otherwise (cifs: QEMU has no SMB block driver), and for
 * host processes and containers, the answer is the file on the mount point (kind `file`).
 *
 * Linked clones are the exception: their backing file is Proxmox's relative
 * `../<basevmid>/<base>`, which QEMU's libnfs driver turns into an NFS MOUNT of
 * `<export>/images/<vmid>/..`, and servers refuse `..` in a mount path (ganesha answers
 * MNT3ERR_ACCES). QEMU therefore opens a linked clone as the file on the mount point, where
 * the relative backing file resolves, as Proxmox does for every volume.
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
  const remote = nc.qemuExport;
  if (remote && consumer === 'qemu' && v.content === 'iso') return nfsQemuAccess(nfsFileLocation(remote, nc, v), 'raw');
  if (remote && consumer === 'qemu' && v.content === 'images' && !(await hasBackingFile(nc, path, v))) {
    return nfsQemuAccess(nfsFileLocation(remote, nc, v), v.format);
  }
  return { kind: 'file', path, format: v.format };
}

import { isIPv6 } from 'node:net';
import { posix } from 'node:path';
import type { ShareFile, ShareVolname, VolumeAccess } from '@corral/core';

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

/**
 * How QEMU opens a volume of an nfs storage exported as `qemuExport` (the type's
 * `ShareType.qemuAccess`): images (and isos) straight from the server through libnfs (see
 * {@link nfsQemuAccess}), so a VM disk needs no kernel mount.
 *
 * Linked clones are the exception (undefined: QEMU gets the file on the mount point): their
 * backing file is Proxmox's relative `../<basevmid>/<base>`, which QEMU's libnfs driver turns
 * into an NFS MOUNT of `<export>/images/<vmid>/..`, and servers refuse `..` in a mount path
 * (ganesha answers MNT3ERR_ACCES); on the mount point the relative backing file resolves, as
 * Proxmox does for every volume.
 */
export async function nfsShareQemuAccess(
  qemuExport: { readonly server: string; readonly export: string },
  file: ShareFile
): Promise<Extract<VolumeAccess, { kind: 'qemu' }> | undefined> {
  const loc = { server: qemuExport.server, path: posix.join(qemuExport.export, file.relativePath) };
  if (file.volume.content === 'iso') return nfsQemuAccess(loc, 'raw');
  if (file.volume.content === 'images' && !(await file.hasBackingFile())) return nfsQemuAccess(loc, file.volume.format);
  return undefined;
}

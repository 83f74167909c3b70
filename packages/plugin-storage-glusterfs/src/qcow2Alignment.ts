import { stat, truncate } from 'node:fs/promises';

/** QEMU's gluster driver reads in units of this many bytes. */
export const GLUSTER_SECTOR_BYTES = 512;

/**
 * Rounds a qcow2 file's size up to a multiple of 512 bytes (zeros after the end; qcow2 ignores
 * them). QEMU's gluster driver fails any short read with EIO, so a qcow2 written on the FUSE
 * mount by `qemu-img` (whose file driver may end the file mid-sector, e.g. 196624 bytes right
 * after `qemu-img create`) could not be opened through `gluster://` (tested: "Could not read L1
 * table: Input/output error"). Proxmox avoids it by running `qemu-img create` on the URL.
 * Returns true when the file was extended.
 */
export async function padToGlusterSector(path: string): Promise<boolean> {
  const size = (await stat(path)).size;
  const rest = size % GLUSTER_SECTOR_BYTES;
  if (rest === 0) return false;
  await truncate(path, size + GLUSTER_SECTOR_BYTES - rest);
  return true;
}

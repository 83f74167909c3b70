import { join } from 'node:path';
import { FileContentLayout } from '@corral/core';

/**
 * Proxmox's BTRFSPlugin layout under a storage's `path`:
 *
 * | volume                            | on disk                                                  |
 * |-----------------------------------|----------------------------------------------------------|
 * | `<vmid>/vm-<vmid>-disk-N.raw`     | `images/<vmid>/vm-<vmid>-disk-N/disk.raw` (the directory is a subvolume) |
 * | `<vmid>/subvol-<vmid>-disk-N.subvol` | `images/<vmid>/subvol-<vmid>-disk-N.subvol/` (a subvolume) |
 * | snapshot `S` of either            | the subvolume's path + `@S` (a read-only subvolume)      |
 *
 * Files of other content are where a dir storage keeps them (core's `FILE_CONTENT_SUBDIRS`;
 * Proxmox's btrfs type has no `content-dirs`).
 */
export class BtrfsLayout extends FileContentLayout {
  constructor(root: string) {
    super(root);
  }

  /** `images/`. */
  get imagesDir(): string {
    return join(this.root, 'images');
  }

  /** `images/<vmid>/`. */
  guestDir(vmid: number): string {
    return join(this.imagesDir, String(vmid));
  }

  /** The subvolume of a guest volume (`disk` without extension), or of its snapshot. */
  subvolume(vmid: number, disk: string, format: 'raw' | 'subvol', snapshot?: string): string {
    const dir = format === 'raw' ? disk : `${disk}.subvol`;
    return join(this.guestDir(vmid), snapshot === undefined ? dir : `${dir}@${snapshot}`);
  }

  /** The raw image file inside a raw volume's subvolume (or snapshot). */
  rawFile(vmid: number, disk: string, snapshot?: string): string {
    return join(this.subvolume(vmid, disk, 'raw', snapshot), 'disk.raw');
  }
}

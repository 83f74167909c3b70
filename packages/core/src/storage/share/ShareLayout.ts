import { join } from 'node:path';
import { FileContentLayout } from '../fileStorageContent.js';
import type { ShareVolname } from './shareVolname.js';

/**
 * Paths of one mounted-share storage under its mount point: the layout of a dir storage (core's
 * `FileContentLayout`: Proxmox's `$vtype_subdirs`, moved by `content-dirs`), with guest images
 * in `images/<vmid>/`.
 */
export class ShareLayout extends FileContentLayout {
  /** `images/<vmid>/`. */
  guestDir(vmid: number): string {
    return join(this.contentDir('images'), String(vmid));
  }

  /** Path of a volume's file, relative to the mount point (a disk inside an OVA: the archive's). */
  relativePathOf(v: Pick<ShareVolname, 'content' | 'vmid' | 'name' | 'archive'>): string {
    if (v.content === 'images' || v.content === 'rootdir') return join(this.relativeContentDir('images'), String(v.vmid), v.name);
    return join(this.relativeContentDir(v.content), v.archive ?? v.name);
  }

  /** Absolute path of a volume's file on the mount. */
  pathOf(v: Pick<ShareVolname, 'content' | 'vmid' | 'name' | 'archive'>): string {
    return join(this.root, this.relativePathOf(v));
  }
}

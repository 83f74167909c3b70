import { join } from 'node:path';
import type { StorageContent } from '@corral/core';
import type { ShareVolname } from './shareVolname.js';

/**
 * Proxmox's default directory per content type under a file storage's `path` (pve-storage's
 * `$vtype_subdirs`), the same as a dir storage's. `content-dirs` overrides them per storage.
 * (The dir plugin has the same table; plugins may not depend on each other, see the README.)
 */
export const SHARE_CONTENT_SUBDIRS: Readonly<Record<StorageContent, string>> = Object.freeze({
  images: 'images',
  rootdir: 'images',
  iso: 'template/iso',
  vztmpl: 'template/cache',
  backup: 'dump',
  snippets: 'snippets',
});

/** Paths of one nfs storage under its mount point. */
export class ShareLayout {
  constructor(
    /** The mount point (`path`). */
    readonly root: string,
    private readonly overrides: Readonly<Partial<Record<StorageContent, string>>> = {}
  ) {}

  /** Directory of a content type (`content-dirs` first, then Proxmox's default). */
  contentDir(content: StorageContent): string {
    return join(this.root, this.relativeContentDir(content));
  }

  /** The same, relative to the mount point (used for `nfs://` URLs). */
  relativeContentDir(content: StorageContent): string {
    return this.overrides[content] ?? SHARE_CONTENT_SUBDIRS[content];
  }

  /** `images/<vmid>/`. */
  guestDir(vmid: number): string {
    return join(this.contentDir('images'), String(vmid));
  }

  /** Path of a volume's file, relative to the mount point. */
  relativePathOf(v: Pick<ShareVolname, 'content' | 'vmid' | 'name'>): string {
    if (v.content === 'images' || v.content === 'rootdir') return join(this.relativeContentDir('images'), String(v.vmid), v.name);
    return join(this.relativeContentDir(v.content), v.name);
  }

  /** Absolute path of a volume's file on the mount. */
  pathOf(v: Pick<ShareVolname, 'content' | 'vmid' | 'name'>): string {
    return join(this.root, this.relativePathOf(v));
  }
}

import { join } from 'node:path';
import type { StorageContent } from '@corral/core';
import type { DirVolname } from './dirVolname.js';

/**
 * Proxmox's directory layout under a storage's `path` (pve-storage `$vtype_subdirs`):
 *
 * | content  | directory          |
 * |----------|--------------------|
 * | images   | `images/<vmid>/`   |
 * | rootdir  | `images/<vmid>/` (subvol directories `subvol-<vmid>-disk-N.subvol/`) |
 * | iso      | `template/iso/`    |
 * | vztmpl   | `template/cache/`  |
 * | backup   | `dump/`            |
 * | snippets | `snippets/`        |
 */
export const CONTENT_SUBDIRS: Readonly<Record<StorageContent, string>> = Object.freeze({
  images: 'images',
  rootdir: 'images',
  iso: 'template/iso',
  vztmpl: 'template/cache',
  backup: 'dump',
  snippets: 'snippets',
});

/**
 * Paths of one dir storage. `overrides` are the storage's `content-dirs` (Proxmox's
 * `get_subdir`): a content type named there lives in that directory under `root` instead of
 * its default; `images` moves guest volumes of both `images` and `rootdir`, which share it.
 */
export class DirLayout {
  constructor(
    readonly root: string,
    private readonly overrides: Partial<Record<StorageContent, string>> = {},
  ) {}

  /** Directory of a content type. */
  contentDir(content: StorageContent): string {
    const key = content === 'rootdir' ? 'images' : content;
    return join(this.root, this.overrides[key] ?? CONTENT_SUBDIRS[key]);
  }

  /** `images/` (or its `content-dirs` override). */
  get imagesDir(): string {
    return this.contentDir('images');
  }

  /** `images/<vmid>/`. */
  guestDir(vmid: number): string {
    return join(this.imagesDir, String(vmid));
  }

  /** File (or subvol directory) of a decoded volume name. */
  pathOf(v: DirVolname): string {
    if (v.content === 'images' || v.content === 'rootdir') return join(this.guestDir(v.vmid!), v.name);
    return join(this.contentDir(v.content), v.name);
  }

  /**
   * Side file holding a subvol's quota in bytes (`images/<vmid>/.<name>.quota`). Dir storage
   * cannot enforce quotas; the size is kept so that the volume reports what was asked.
   */
  quotaPath(vmid: number, name: string): string {
    return join(this.guestDir(vmid), `.${name}.quota`);
  }
}

import { join } from 'node:path';
import { FileContentLayout } from '@corral/core';
import type { DirVolname } from './dirVolname.js';

/**
 * Paths of one dir storage: Proxmox's layout under `path` (core's `FILE_CONTENT_SUBDIRS`:
 * `images/<vmid>/` for images and subvol directories `subvol-<vmid>-disk-N.subvol/`,
 * `template/iso/`, `template/cache/`, `dump/`, `snippets/`, `import/`). `overrides` are the
 * storage's `content-dirs` (Proxmox's `get_subdir`): a content type named there lives in that
 * directory under `root` instead of its default; `images` moves guest volumes of both
 * `images` and `rootdir`, which share it.
 */
export class DirLayout extends FileContentLayout {
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
    return this.filePath({ content: v.content, name: v.name, archive: v.archive });
  }

  /**
   * Side file holding a subvol's quota in bytes (`images/<vmid>/.<name>.quota`). Dir storage
   * cannot enforce quotas; the size is kept so that the volume reports what was asked.
   */
  quotaPath(vmid: number, name: string): string {
    return join(this.guestDir(vmid), `.${name}.quota`);
  }
}

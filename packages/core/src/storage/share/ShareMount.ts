import type { MountEntry } from './procMounts.js';

/**
 * One share mount of a storage: what /proc/mounts shows when it is mounted (`fstype` prefix,
 * `source`, `path`) and the argv that mounts it. Built per storage type by
 * `ShareType.shareMount` (plugin-storage-nfs's `nfsShareMount`, `cifsShareMount`).
 */
export interface ShareMount {
  /** Filesystem type prefix in /proc/mounts (`nfs` also matches `nfs4`; `cifs`, `fuse.glusterfs`). */
  readonly fstype: string;
  /** The source as /proc/mounts shows it (`10.0.0.5:/srv/pve`, `//nas/share/sub`). */
  readonly source: string;
  /** The local mount point (the storage's `path`). */
  readonly path: string;
  /** `mount -t <fstype> <source> <path> ...`. */
  readonly argv: readonly string[];
  /** Private files the mount reads (the cifs credentials file): written with mode 0600 before mounting. */
  readonly files?: ReadonlyArray<{ readonly path: string; readonly content: string }>;
}

/**
 * True when `mounts` holds a `<fstype>*` mount of `share.source` (a trailing `/` on the
 * source is accepted) on exactly `share.path`, as pve's `nfs_is_mounted`/`cifs_is_mounted`.
 */
export function isShareMounted(share: Pick<ShareMount, 'fstype' | 'source' | 'path'>, mounts: readonly MountEntry[]): boolean {
  return mounts.some((m) => m.fstype.startsWith(share.fstype) && (m.source === share.source || m.source === `${share.source}/`) && m.target === share.path);
}

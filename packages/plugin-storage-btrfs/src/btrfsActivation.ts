import { mkdir, stat, statfs } from 'node:fs/promises';
import { checkHostPath, InvalidConfigError, isMountpoint, UnavailableError, type StorageContent, type StorageStatus } from '@corral/core';
import type { BtrfsContext } from './BtrfsContext.js';
import type { QuotaActivation } from './btrfsQuota.js';

/** `statfs` f_type of btrfs (`BTRFS_SUPER_MAGIC`). */
export const BTRFS_MAGIC = 0x9123683e;

/** True when `path` is on a btrfs filesystem. */
export async function isBtrfs(path: string): Promise<boolean> {
  const s = await statfs(path).catch(() => undefined);
  return s !== undefined && Number(s.type) === BTRFS_MAGIC;
}

/**
 * Makes a btrfs storage usable, as BTRFSPlugin's `activate_storage`: `path` is created
 * unless `mkdir`/`create-base-path` is 0; with `is_mountpoint` the mount point must be
 * mounted; `path` must be on btrfs; the directories of the enabled content (and `dump` when
 * rootdir is enabled) are created unless `create-subdirs`/`mkdir` is 0; with `quotas 1`,
 * quota groups are enabled on the filesystem. Idempotent.
 *
 * @throws UnavailableError (not mounted, path missing, not btrfs).
 */
export async function activateBtrfs(bc: BtrfsContext, content: readonly StorageContent[], quotas: QuotaActivation): Promise<void> {
  const { options, layout } = bc;
  const unavailable = (why: string) => new UnavailableError(`storage:${bc.sid}`, `storage '${bc.sid}': ${why}`);
  if (options.createBasePath) await mkdir(options.path, { recursive: true });
  if (options.mountpoint && !(await isMountpoint(options.mountpoint))) {
    throw unavailable(`'${options.mountpoint}' is expected to be a mount point but is not mounted`);
  }
  const st = await stat(options.path).catch(() => undefined);
  if (!st?.isDirectory()) throw unavailable(`directory '${options.path}' does not exist or is unreachable`);
  if (!(await isBtrfs(options.path))) throw unavailable(`'${options.path}' is not a btrfs file system`);
  if (options.createSubdirs) {
    const wanted = new Set<StorageContent>(content);
    if (wanted.has('rootdir')) wanted.add('backup');
    await Promise.all([...wanted].map((c) => mkdir(layout.contentDir(c), { recursive: true })));
  }
  await quotas.ensure(bc, st.dev);
}

/** Usage from `statfs(path)`; `active: false` when the directory is missing, not mounted or not btrfs. */
export async function btrfsStatus(bc: BtrfsContext): Promise<StorageStatus> {
  const inactive = { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
  if (bc.options.mountpoint && !(await isMountpoint(bc.options.mountpoint))) return inactive;
  try {
    const s = await statfs(bc.options.path);
    if (Number(s.type) !== BTRFS_MAGIC) return inactive;
    const bsize = Number(s.bsize);
    const total = Number(s.blocks) * bsize;
    return { active: true, totalBytes: total, usedBytes: total - Number(s.bfree) * bsize, availableBytes: Number(s.bavail) * bsize };
  } catch {
    return inactive;
  }
}

/**
 * Definition checks beyond the schema: `path` a host path that is a directory (or creatable);
 * an existing `path` must be on btrfs.
 */
export async function checkBtrfsDefinition(bc: BtrfsContext): Promise<void> {
  const { path } = bc.options;
  checkHostPath('path', path);
  const st = await stat(path).catch(() => undefined);
  if (st && !st.isDirectory()) throw new InvalidConfigError('path', path, `storage '${bc.sid}': path '${path}' exists and is not a directory`);
  if (!st && !bc.options.createBasePath) {
    throw new InvalidConfigError('path', path, `storage '${bc.sid}': path '${path}' does not exist and mkdir/create-base-path is 0`);
  }
  if (st && !bc.options.mountpoint && !(await isBtrfs(path))) {
    throw new InvalidConfigError('path', path, `storage '${bc.sid}': '${path}' is not on a btrfs file system`);
  }
}

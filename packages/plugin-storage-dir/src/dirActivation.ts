import { mkdir, stat, statfs } from 'node:fs/promises';
import { checkHostPath, InvalidConfigError, isMountpoint, UnavailableError, type StorageContent, type StorageStatus } from '@corral/core';
import type { DirContext } from './DirContext.js';

/**
 * Makes a dir storage usable, as pve's DirPlugin `activate_storage`: with `is_mountpoint`,
 * the mount point must be mounted; `path` is created unless `mkdir`/`create-base-path` is 0;
 * the directories of the enabled content (and `dump` when rootdir is enabled) are created
 * unless `create-subdirs`/`mkdir` is 0. Idempotent.
 *
 * @throws UnavailableError when not mounted or `path` is missing and may not be created.
 */
export async function activateDir(dc: DirContext, content: readonly StorageContent[]): Promise<void> {
  const { options, layout } = dc;
  if (options.mountpoint && !(await isMountpoint(options.mountpoint))) {
    throw new UnavailableError(`storage:${dc.sid}`, `storage '${dc.sid}': '${options.mountpoint}' is expected to be a mount point but is not mounted`);
  }
  if (options.createBasePath) {
    await mkdir(options.path, { recursive: true });
  } else {
    const st = await stat(options.path).catch(() => undefined);
    if (!st?.isDirectory()) throw new UnavailableError(`storage:${dc.sid}`, `storage '${dc.sid}': directory '${options.path}' does not exist or is unreachable`);
  }
  if (options.createSubdirs) {
    const wanted = new Set<StorageContent>(content);
    if (wanted.has('rootdir')) wanted.add('backup');
    await Promise.all([...wanted].map((c) => mkdir(layout.contentDir(c), { recursive: true })));
  }
}

/** Usage from `statfs(path)`; `active: false` when the directory is missing or not mounted. */
export async function dirStatus(dc: DirContext): Promise<StorageStatus> {
  const inactive = { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
  if (dc.options.mountpoint && !(await isMountpoint(dc.options.mountpoint))) return inactive;
  try {
    const s = await statfs(dc.options.path);
    const bsize = Number(s.bsize);
    const total = Number(s.blocks) * bsize;
    return { active: true, totalBytes: total, usedBytes: total - Number(s.bfree) * bsize, availableBytes: Number(s.bavail) * bsize };
  } catch {
    return inactive;
  }
}

/** Definition checks beyond the schema: `path` must be a directory, or creatable. */
export async function checkDirDefinition(dc: DirContext): Promise<void> {
  checkHostPath('path', dc.options.path);
  const st = await stat(dc.options.path).catch(() => undefined);
  if (st && !st.isDirectory()) {
    throw new InvalidConfigError('path', dc.options.path, `storage '${dc.sid}': path '${dc.options.path}' exists and is not a directory`);
  }
  if (!st && !dc.options.createBasePath) {
    throw new InvalidConfigError('path', dc.options.path, `storage '${dc.sid}': path '${dc.options.path}' does not exist and mkdir/create-base-path is 0`);
  }
}

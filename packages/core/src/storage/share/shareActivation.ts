import { mkdir, stat, statfs } from 'node:fs/promises';
import { checkHostPath } from '../../security/hostPath.js';
import { UnavailableError } from '../../errors.js';
import type { StorageContent, StorageStatus } from '../../contracts/storage.js';
import type { ShareContext } from './ShareContext.js';

/**
 * Makes a share storage usable, as pve's NFSPlugin/CIFSPlugin `activate_storage`: when the
 * share is not mounted on `path`, the server is probed first (pve's `check_connection`, as
 * `PVE::Storage::activate_storage` does), `path` is created (unless `mkdir`/`create-base-path` is 0; only then, so
 * an offline server cannot hang a mkdir on a stale mount) and the share mounted; then the
 * directories of the enabled content (and `dump` with rootdir) are created unless
 * `create-subdirs`/`mkdir` is 0. Idempotent.
 *
 * @throws UnavailableError when the server does not answer (`storage '<id>' is not online`),
 *   `path` is missing and may not be created, or the mount fails (the mount error is the
 *   cause); what the probe throws (cifs: `InvalidConfigError` for refused credentials).
 */
export async function activateShare(nc: ShareContext, content: readonly StorageContent[]): Promise<void> {
  const { options, share } = nc;
  if (!(await nc.mounter.isMounted(share))) {
    if (nc.checkConnection && !(await nc.checkConnection())) {
      throw new UnavailableError(`storage:${nc.sid}`, `storage '${nc.sid}' is not online (${share.source} does not answer)`);
    }
    if (options.createBasePath) await mkdir(options.path, { recursive: true });
    const st = await stat(options.path).catch(() => undefined);
    if (!st?.isDirectory())
      throw new UnavailableError(`storage:${nc.sid}`, `unable to activate storage '${nc.sid}' - directory '${options.path}' does not exist`);
    try {
      await nc.mounter.mount(nc.runner, share, nc.signal);
    } catch (err) {
      throw new UnavailableError(
        `storage:${nc.sid}`,
        `unable to activate storage '${nc.sid}' - mount of ${share.source} on '${options.path}' failed: ${(err as Error).message}`,
        { cause: err }
      );
    }
  }
  if (options.createSubdirs) {
    const wanted = new Set<StorageContent>(content);
    if (wanted.has('rootdir')) wanted.add('backup');
    await Promise.all([...wanted].map((c) => mkdir(nc.layout.contentDir(c), { recursive: true })));
  }
}

/** Unmounts the share when it is mounted on `path` (pve's `deactivate_storage`). Idempotent. */
export async function deactivateShare(nc: ShareContext): Promise<void> {
  if (await nc.mounter.isMounted(nc.share)) await nc.mounter.unmount(nc.runner, nc.share, nc.signal);
}

/** Usage from `statfs(path)` of the mount; `active: false` when the share is not mounted. */
export async function shareStatus(nc: ShareContext): Promise<StorageStatus> {
  const inactive = {
    active: false,
    totalBytes: 0,
    usedBytes: 0,
    availableBytes: 0,
  };
  if (!(await nc.mounter.isMounted(nc.share))) return inactive;
  try {
    const s = await statfs(nc.options.path);
    const bsize = Number(s.bsize);
    const total = Number(s.blocks) * bsize;
    return {
      active: true,
      totalBytes: total,
      usedBytes: total - Number(s.bfree) * bsize,
      availableBytes: Number(s.bavail) * bsize,
    };
  } catch {
    return inactive;
  }
}

/** Definition checks beyond the schema: `path` is an absolute host path in normal form. */
export function checkShareDefinition(nc: ShareContext): void {
  checkHostPath('path', nc.options.path);
}

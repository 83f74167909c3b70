/**
 * Storage-level operations of a zfspool storage: activation (pool imported, dataset present),
 * status and the definition check.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, UnavailableError, type StorageStatus } from '@corral/core';
import { ZfsCommands } from './ZfsCommands.js';
import { zfsFailure } from './zfsErrors.js';
import { zfsNumber } from './parseZfsGet.js';
import type { ZfsSession } from './ZfsSession.js';

/** Timeout of `zpool import`, ms (Proxmox: at least 15 s). */
const IMPORT_TIMEOUT_MS = 15_000;

async function poolImported(s: ZfsSession): Promise<boolean> {
  try {
    await s.run(ZfsCommands.zpoolList(s.opts.poolName));
    return true;
  } catch (err) {
    if (zfsFailure(err) === 'daemon') s.fail(err);
    return false;
  }
}

/**
 * Makes the storage usable, as Proxmox's `activate_storage`: the `pool` dataset must exist;
 * when its zpool is not imported, `zpool import -d /dev/disk/by-id -o cachefile=none` is
 * tried once.
 *
 * @throws UnavailableError naming the pool when ZFS does not answer, the zpool cannot be
 *   imported or the dataset does not exist.
 */
export async function activateZfsStorage(s: ZfsSession): Promise<void> {
  try {
    await s.get(['type'], [s.pool]);
    return;
  } catch (err) {
    const kind = zfsFailure(err);
    if (kind !== 'missing' && kind !== 'no-pool') s.fail(err);
  }
  if (await poolImported(s)) {
    throw new UnavailableError(`storage:${s.sid}`, `storage '${s.sid}': zfs dataset '${s.pool}' does not exist in pool '${s.opts.poolName}'`);
  }
  try {
    await s.run(ZfsCommands.zpoolImport(s.opts.poolName), { timeoutMs: Math.max(IMPORT_TIMEOUT_MS, s.config.commandTimeoutMs) });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new UnavailableError(`storage:${s.sid}`, `storage '${s.sid}': zfs pool '${s.opts.poolName}' is not imported and could not be imported: ${detail}`, {
      cause: err,
    });
  }
  try {
    await s.get(['type'], [s.pool]);
  } catch (err) {
    s.fail(err);
  }
}

/**
 * Usage of the storage from `zfs get -Hp used,available <pool>` (Proxmox's
 * `zfs_get_pool_stats`): total = used + available. An unreachable ZFS or a missing pool gives
 * `active: false`; other failures throw.
 */
export async function zfsStorageStatus(s: ZfsSession): Promise<StorageStatus> {
  let props: Map<string, string> | undefined;
  try {
    props = (await s.get(['used', 'available'], [s.pool])).get(s.pool);
  } catch (err) {
    const kind = zfsFailure(err);
    if (kind === 'missing' || kind === 'no-pool' || kind === 'daemon') {
      s.ctx.log.warn(`storage '${s.sid}': zfs status failed: ${(err as Error).message}`);
      return { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
    }
    s.fail(err);
  }
  const used = zfsNumber(props?.get('used')) ?? 0;
  const availableBytes = zfsNumber(props?.get('available')) ?? 0;
  return { active: true, totalBytes: used + availableBytes, usedBytes: used, availableBytes };
}

/**
 * Checks a definition before it is stored: `blocksize` must be a valid ZFS block size and
 * `pool` an existing filesystem dataset of an imported zpool.
 *
 * @throws InvalidConfigError naming `blocksize` or `pool`; UnavailableError when ZFS itself
 *   does not answer.
 */
export async function checkZfsDefinition(s: ZfsSession): Promise<void> {
  let type: string | undefined;
  try {
    type = (await s.get(['type'], [s.pool])).get(s.pool)?.get('type');
  } catch (err) {
    const kind = zfsFailure(err);
    if (kind === 'missing' || kind === 'no-pool') {
      const imported = await poolImported(s);
      throw new InvalidConfigError(
        'pool',
        s.pool,
        imported
          ? `storage '${s.sid}' (zfspool): dataset '${s.pool}' does not exist in zfs pool '${s.opts.poolName}'`
          : `storage '${s.sid}' (zfspool): zfs pool '${s.opts.poolName}' does not exist or is not imported`,
        { cause: err },
      );
    }
    s.fail(err);
  }
  if (type !== 'filesystem') {
    throw new InvalidConfigError('pool', s.pool, `storage '${s.sid}' (zfspool): '${s.pool}' is a ${type ?? 'unknown dataset type'}, not a filesystem dataset`);
  }
}

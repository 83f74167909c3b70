/**
 * `kernel.guests.update`: config changes, live where the driver can, pending otherwise.
 * @internal
 * @packageDocumentation
 */
import type { GuestConfigEntries } from '../contracts/hypervisor.js';
import { DigestMismatchError, InvalidConfigError } from '../errors.js';
import { checkNotLocked } from '../locks/guestLock.js';
import type { StoredGuestConfig } from './GuestConfigRepository.js';
import { stringifyConfig, type GuestOperationOptions, type GuestOperations, type GuestTaskResult, type LockedScope } from './GuestOperations.js';
import { keepDetachedVolumes, nextUnusedKey, volumesToFree } from './guestVolumes.js';

/** A config change: keys to set, keys to delete, and optionally the digest it was based on. */
export interface GuestConfigChange {
  readonly set?: Readonly<Record<string, string | number | boolean>>;
  readonly delete?: readonly string[];
  /** Compare-and-set: refused with `DigestMismatchError` when the config changed since. */
  readonly digest?: string;
}

/** What {@link GuestFacade.update} returns. */
export interface GuestUpdateResult extends GuestTaskResult {
  /** Keys that took effect now. */
  readonly applied: readonly string[];
  /** Keys that wait in `[PENDING]` for the next start. */
  readonly pending: readonly string[];
}

/** Keys only Corral itself writes. */
const READ_ONLY_KEYS = ['lock', 'parent', 'snaptime', 'vmstate', 'digest'];

/**
 * Applies a config change under the guest lock (see `GuestFacade.update`). Without `digest`,
 * the last writer wins per key, as in Proxmox. The config write is the commit point: new
 * volumes allocated for the change are freed if anything fails before it; after it, the
 * volumes of deleted `unusedN` keys are freed best effort: one that cannot be freed (e.g. it is
 * protected) stays in the config as `unusedN` and the task ends with a warning.
 */
export async function updateGuest(ops: GuestOperations, vmid: number, change: GuestConfigChange, options: GuestOperationOptions): Promise<GuestUpdateResult> {
  const set = stringifyConfig(change.set ?? {});
  const del = [...(change.delete ?? [])];
  for (const k of READ_ONLY_KEYS) {
    if (k in set || del.includes(k)) throw new InvalidConfigError(k, set[k], `'${k}' cannot be changed directly`);
  }
  let applied: readonly string[] = [];
  let pending: readonly string[] = [];
  const result = await ops.guestTask('config', vmid, options, async (g, scope) => {
    if (change.digest && change.digest !== g.digest) throw new DigestMismatchError(g.path, change.digest, g.digest);
    checkNotLocked(g.doc.current, vmid);
    ({ applied, pending } = await applyChange(ops, g, set, del, options, scope));
  });
  return { ...result, applied, pending };
}

async function applyChange(
  ops: GuestOperations,
  g: StoredGuestConfig,
  set: Record<string, string>,
  del: readonly string[],
  options: GuestOperationOptions,
  { task, signal }: LockedScope,
): Promise<{ applied: readonly string[]; pending: readonly string[] }> {
  const driver = ops.driver(g.type);
  const before: GuestConfigEntries = { ...g.doc.current };
  const after: Record<string, string> = { ...g.doc.current, ...set };
  for (const k of del) delete after[k];
  const touched = [...Object.keys(set), ...del];
  const caller = ops.caller(options);
  // Old and new values: replacing or removing a host device is as privileged as adding one.
  ops.checkPrivileges(caller, driver, after, Object.keys(set));
  ops.checkPrivileges(caller, driver, before, touched);
  let applied: readonly string[] = [];
  let pending: readonly string[] = [];
  let toFree: Array<{ key: string; volid: string }> = [];
  const revert = ops.reverter(task);
  try {
    for (const req of driver.volumeRequests(after)) {
      const volid = await ops.deps.storage.allocate({
        storage: req.storage,
        vmid: g.vmid,
        sizeBytes: req.sizeBytes,
        content: req.content,
        format: req.format,
        signal,
      });
      revert.add(() => ops.deps.storage.free(volid), `free ${volid}`);
      after[req.key] = driver.replaceVolume(req.key, after[req.key]!, volid, req.sizeBytes);
      set[req.key] = after[req.key]!;
    }
    driver.validate(after);
    const ctx = await ops.context(g.vmid, g.type, { log: task.logger, signal });
    const status = await driver.status(ctx, g.doc.current);
    const changed = [...Object.keys(set), ...del];
    if (status.state === 'stopped') {
      g.doc.current = after;
      g.doc.pending = {};
      g.doc.pendingDelete = [];
      applied = changed;
    } else {
      const res = await driver.applyChanges(ctx, g.doc.current, after, changed);
      applied = res.applied;
      pending = res.pending;
      const live: Record<string, string> = { ...g.doc.current };
      for (const k of res.applied) {
        if (k in after) live[k] = after[k]!;
        else delete live[k];
      }
      g.doc.current = live;
      for (const k of res.pending) {
        if (k in after) {
          g.doc.pending[k] = after[k]!;
          g.doc.pendingDelete = g.doc.pendingDelete.filter((x) => x !== k);
        } else {
          delete g.doc.pending[k];
          if (!g.doc.pendingDelete.includes(k)) g.doc.pendingDelete.push(k);
        }
      }
    }
    g.doc.current = keepDetachedVolumes(driver, before, g.doc.current);
    toFree = volumesToFree(driver, g.doc, del, before);
    await ops.repo.write(g.type, g.vmid, g.doc, g.digest);
    revert.success();
  } catch (err) {
    await revert.fail();
    throw err;
  }
  if (pending.length > 0) task.log(`pending until next start: ${pending.join(', ')}`);
  ops.deps.events.emit('guest:config', { vmid: g.vmid, type: g.type });
  await freeDeletedUnused(ops, g, toFree, task.logger);
  return { applied, pending };
}

/**
 * After the commit: frees the volumes of deleted `unusedN` keys. A volume that cannot be
 * freed is put back as `unusedN` (so it is neither lost nor orphaned) with a warning.
 */
async function freeDeletedUnused(
  ops: GuestOperations,
  g: StoredGuestConfig,
  toFree: ReadonlyArray<{ key: string; volid: string }>,
  log: { info(m: string): void; warn(m: string): void },
): Promise<void> {
  const kept: Array<{ key: string; volid: string }> = [];
  for (const v of toFree) {
    try {
      await ops.deps.storage.free(v.volid);
      log.info(`freed ${v.volid}`);
    } catch (err) {
      if ((err as { code?: string }).code === 'CORRAL_ERR_NOT_FOUND') continue;
      log.warn(`could not free ${v.volid} (${v.key}): ${(err as Error).message}; kept as ${v.key}`);
      kept.push(v);
    }
  }
  if (kept.length === 0) return;
  try {
    const fresh = await ops.repo.get(g.vmid);
    for (const v of kept) fresh.doc.current[v.key in fresh.doc.current ? nextUnusedKey(fresh.doc.current) : v.key] = v.volid;
    await ops.repo.write(fresh.type, g.vmid, fresh.doc, fresh.digest);
  } catch (err) {
    log.warn(`could not put back ${kept.map((v) => v.volid).join(', ')} as unused volumes: ${(err as Error).message} (guests.rescan finds them)`);
  }
}

/**
 * `kernel.guests.update`: config changes, live where the driver can, pending otherwise.
 * @internal
 * @packageDocumentation
 */
import type { GuestConfigEntries } from '../contracts/hypervisor.js';
import { DigestMismatchError } from '../errors.js';
import { checkNotLocked } from '../locks/guestLock.js';
import type { Logger } from '../util/Logger.js';
import { withReverter } from '../util/Reverter.js';
import { checkWritableKeys } from './GuestDocument.js';
import type { StoredGuestConfig } from './GuestConfigRepository.js';
import { stringifyConfig, type GuestOperationOptions, type GuestOperations, type GuestTaskResult, type LockedScope } from './GuestOperations.js';
import { freeVolumesBestEffort, isUnusedKey, keepDetachedVolumes, nextUnusedKey, volumesToFree } from './guestVolumes.js';
import { fillMissingMacs } from './nicMacs.js';

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

/**
 * Applies a config change under the guest lock (see `GuestFacade.update`). Without `digest`,
 * the last writer wins per key, as in Proxmox.
 *
 * Commit points: on a stopped guest the one config write. On a running guest, as qemu-server
 * does, the change is first written into `[PENDING]` (from then on its new volumes are named by
 * the config and never undone), then the driver applies what it can live, and a second write
 * moves what was applied into the current section; a failed hotplug leaves the change pending
 * with a task warning. New volumes are freed only if something fails before the first write.
 * After the commit, the volumes of deleted `unusedN` keys that the guest owns and nothing else
 * references are freed best effort: one that cannot be freed (e.g. protected) is kept as
 * `unusedN` with a warning; one the guest does not own is never freed.
 */
export async function updateGuest(ops: GuestOperations, vmid: number, change: GuestConfigChange, options: GuestOperationOptions): Promise<GuestUpdateResult> {
  const set = stringifyConfig(change.set ?? {});
  const del = [...(change.delete ?? [])];
  checkWritableKeys([...Object.keys(set), ...del], set);
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
  const caller = ops.caller(options);
  // Old and new values: replacing or removing a host device is as privileged as adding one.
  ops.checkPrivileges(caller, driver, after, Object.keys(set));
  ops.checkPrivileges(caller, driver, before, [...Object.keys(set), ...del]);
  await ops.checkVolumeOwners(caller, driver, g.vmid, after, Object.keys(set));
  // As qemu-server and pct: a NIC set without a MAC gets one, written into the config.
  fillMissingMacs(ops.types.get(g.type).nicMacFormat, set, Object.keys(set));
  for (const k of Object.keys(set)) after[k] = set[k]!;
  const ctx = await ops.context(g.vmid, g.type, { log: task.logger, signal });
  let applied: readonly string[] = [];
  let pending: readonly string[] = [];
  await withReverter(
    async (revert) => {
      for (const req of driver.volumeRequests(after)) {
        const volid = await ops.deps.storage.allocate({ storage: req.storage, vmid: g.vmid, sizeBytes: req.sizeBytes, content: req.content, format: req.format, signal });
        revert.add(() => ops.deps.storage.free(volid), `free ${volid}`);
        after[req.key] = driver.replaceVolume(req.key, after[req.key]!, volid, req.sizeBytes);
        set[req.key] = after[req.key]!;
      }
      driver.validate(after);
      const changed = [...Object.keys(set), ...del];
      if ((await driver.status(ctx, g.doc.current)).state === 'stopped') {
        g.doc.current = keepDetachedVolumes(driver, before, after);
        g.doc.pending = {};
        g.doc.pendingDelete = [];
        await ops.repo.write(g.type, g.vmid, g.doc, g.digest, task.logger);
        revert.success();
        applied = changed;
        return;
      }
      // Running: `unusedN` keys are not hardware, they change at once; the rest goes pending first.
      const live = changed.filter((k) => !isUnusedKey(k));
      for (const k of live) markPending(g, k, after[k]);
      for (const k of changed.filter(isUnusedKey)) {
        if (k in after) g.doc.current[k] = after[k]!;
        else delete g.doc.current[k];
      }
      let digest = await ops.repo.write(g.type, g.vmid, g.doc, g.digest, task.logger);
      revert.success();
      let result: { applied: readonly string[]; pending: readonly string[] };
      try {
        result = await driver.applyChanges(ctx, before, after, live);
      } catch (err) {
        task.logger.warn(`could not apply ${live.join(', ')} to the running guest (${(err as Error).message}): pending until the next start`);
        result = { applied: [], pending: live };
      }
      const current: Record<string, string> = { ...g.doc.current };
      for (const k of result.applied) {
        if (k in after) current[k] = after[k]!;
        else delete current[k];
        delete g.doc.pending[k];
        g.doc.pendingDelete = g.doc.pendingDelete.filter((x) => x !== k);
      }
      g.doc.current = keepDetachedVolumes(driver, g.doc.current, current);
      if (result.applied.length > 0) digest = await ops.repo.write(g.type, g.vmid, g.doc, digest, task.logger);
      applied = [...changed.filter(isUnusedKey), ...result.applied];
      pending = result.pending;
    },
    { log: task.logger },
  );
  if (pending.length > 0) task.log(`pending until next start: ${pending.join(', ')}`);
  ops.deps.events.emit('guest:config', { vmid: g.vmid, type: g.type });
  await freeDeletedUnused(ops, g, volumesToFree(driver, g.doc, del, before), task.logger);
  return { applied, pending };
}

/** Records `key` (set to `value`, or deleted when undefined) in the document's `[PENDING]`. */
function markPending(g: StoredGuestConfig, key: string, value: string | undefined): void {
  if (value !== undefined) {
    g.doc.pending[key] = value;
    g.doc.pendingDelete = g.doc.pendingDelete.filter((x) => x !== key);
  } else {
    delete g.doc.pending[key];
    if (!g.doc.pendingDelete.includes(key)) g.doc.pendingDelete.push(key);
  }
}

/**
 * After the commit: frees the volumes of deleted `unusedN` keys (see {@link updateGuest}). A
 * volume that cannot be freed is put back as `unusedN` (so it is neither lost nor orphaned).
 */
async function freeDeletedUnused(ops: GuestOperations, g: StoredGuestConfig, toFree: ReadonlyArray<{ key: string; volid: string }>, log: Logger): Promise<void> {
  const failed = await freeVolumesBestEffort(ops, g.vmid, toFree, log);
  if (failed.length === 0) return;
  try {
    const fresh = await ops.repo.get(g.vmid);
    for (const v of failed) fresh.doc.current[v.key in fresh.doc.current ? nextUnusedKey(fresh.doc.current) : v.key] = v.volid;
    await ops.repo.write(fresh.type, g.vmid, fresh.doc, fresh.digest, log);
  } catch (err) {
    log.warn(`could not put back ${failed.map((v) => v.volid).join(', ')} as unused volumes: ${(err as Error).message} (guests.rescan finds them)`);
  }
}

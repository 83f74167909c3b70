/**
 * What guest operations decide about the volumes a config references: detached volumes kept
 * as `unusedN`, volumes to free, placeholders for not-yet-allocated volumes, fresh MACs for
 * clones.
 *
 * @internal
 * @packageDocumentation
 */
import type { GuestConfigEntries, GuestType, GuestVolumeRef, HypervisorDriver } from '../contracts/hypervisor.js';
import type { Logger } from '../util/Logger.js';
import type { GuestDocument } from './GuestDocument.js';
import type { GuestOperations } from './GuestOperations.js';

const UNUSED_KEY = /^unused\d+$/;

/** True for `unusedN` keys. */
export function isUnusedKey(key: string): boolean {
  return UNUSED_KEY.test(key);
}

/** The first `unusedN` key not in `entries`, from `unused0`. */
export function nextUnusedKey(entries: GuestConfigEntries): string {
  let n = 0;
  while (`unused${n}` in entries) n++;
  return `unused${n}`;
}

/** Volumes that a guest operation may free or snapshot: not CD-ROMs, not external. */
export function managedVolumes(driver: HypervisorDriver, entries: GuestConfigEntries): GuestVolumeRef[] {
  return driver.volumes(entries).filter((v) => !v.isCdrom && !v.isExternal);
}

/** Every volid a document references: current, pending and snapshot sections. */
export function referencedVolids(driver: HypervisorDriver, doc: GuestDocument): Set<string> {
  const out = new Set<string>();
  for (const entries of [doc.current, doc.pending, ...doc.snapshots.map((s) => s.entries)]) {
    for (const v of driver.volumes(entries)) out.add(v.volid);
  }
  return out;
}

/**
 * Proxmox keeps a volume that a config change detaches (a deleted or replaced disk key) as
 * `unusedN`, so it is neither lost nor orphaned. Returns `after` with such volumes added.
 */
export function keepDetachedVolumes(driver: HypervisorDriver, before: GuestConfigEntries, after: Record<string, string>): Record<string, string> {
  const still = new Set(driver.volumes(after).map((v) => v.volid));
  const out = { ...after };
  for (const v of managedVolumes(driver, before)) {
    if (isUnusedKey(v.key) || v.key === 'vmstate' || still.has(v.volid)) continue;
    out[nextUnusedKey(out)] = v.volid;
    still.add(v.volid);
  }
  return out;
}

/**
 * Volumes of the `unusedN` keys that a change deleted and that nothing in the document still
 * references (current, `[PENDING]` or a snapshot): candidates for {@link freeVolumesBestEffort}
 * after the config is written.
 */
export function volumesToFree(driver: HypervisorDriver, doc: GuestDocument, deleted: readonly string[], before: GuestConfigEntries): Array<{ key: string; volid: string }> {
  const referenced = referencedVolids(driver, doc);
  return driver
    .volumes(before)
    .filter((v) => isUnusedKey(v.key) && deleted.includes(v.key) && !referenced.has(v.volid))
    .map((v) => ({ key: v.key, volid: v.volid }));
}

/**
 * Frees volumes after a commit, best effort: only those owned by guest `vmid` (the vmid in
 * their name, Proxmox's rule: a shared ISO or another guest's volume is never freed), a
 * missing one counts as freed. A free that fails is tried once more (a busy volume, a storage
 * hiccup) unless the volume is protected; a second failure is a warning on `log`. Returns the
 * volumes that could not be freed.
 */
export async function freeVolumesBestEffort<T extends { volid: string }>(ops: GuestOperations, vmid: number, volumes: readonly T[], log: Logger): Promise<T[]> {
  const failed: T[] = [];
  for (const v of volumes) {
    try {
      const owner = (await ops.deps.storage.parse(v.volid)).vmid;
      if (owner !== vmid) {
        log.info(`kept ${v.volid}: ${owner === undefined ? 'it belongs to no guest' : `it belongs to guest ${owner}`}`);
        continue;
      }
      await ops.deps.storage.free(v.volid).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'CORRAL_ERR_PROTECTED' || (err as { code?: string }).code === 'CORRAL_ERR_NOT_FOUND') throw err;
        log.info(`freeing ${v.volid} failed (${(err as Error).message}): trying once more`);
        return ops.deps.storage.free(v.volid);
      });
      log.info(`freed ${v.volid}`);
    } catch (err) {
      if ((err as { code?: string }).code === 'CORRAL_ERR_NOT_FOUND') continue;
      log.warn(`could not free ${v.volid}: ${(err as Error).message}`);
      failed.push(v);
    }
  }
  return failed;
}

/**
 * The config with each `storeid:SIZE` request replaced by a placeholder volume unique to its
 * key (`local:new-scsi0`), for validation before allocation: two new disks on one storage do
 * not look like one volume used twice.
 */
export function withPlaceholderVolumes(driver: HypervisorDriver, entries: Record<string, string>): Record<string, string> {
  const out = { ...entries };
  for (const req of driver.volumeRequests(entries)) {
    out[req.key] = driver.replaceVolume(req.key, out[req.key]!, `${req.storage}:new-${req.key}`, req.sizeBytes);
  }
  return out;
}


/**
 * `kernel.guests.destroy`: removes a stopped guest's config and the volumes it owns.
 * @internal
 * @packageDocumentation
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, ProtectedError } from '../errors.js';
import { checkNotLocked } from '../locks/guestLock.js';
import type { TaskHandle } from '../tasks/TaskManager.js';
import type { StoredGuestConfig } from './GuestConfigRepository.js';
import type { GuestOperationOptions, GuestOperations, GuestTaskResult } from './GuestOperations.js';
import { freeVolumesBestEffort, managedVolumes } from './guestVolumes.js';

/** Options of {@link GuestFacade.destroy}. */
export interface DestroyGuestOptions extends GuestOperationOptions {
  /** Keep every volume (only the config goes). */
  readonly keepVolumes?: boolean;
}

/**
 * Destroys a stopped, unprotected, unlocked guest (see `GuestFacade.destroy`). Deleting the
 * config is the commit point; the volumes are freed after it, best effort (a volume that
 * cannot be freed is a task warning, and an orphan `guests.rescan` can find on a guest that
 * takes the id again).
 */
export function destroyGuest(ops: GuestOperations, vmid: number, options: DestroyGuestOptions): Promise<GuestTaskResult> {
  return ops.guestTask('destroy', vmid, options, async (g, { task }) => {
    const driver = ops.driver(g.type);
    checkNotLocked(g.doc.current, vmid);
    if (g.doc.current.protection === '1') throw new ProtectedError('guest', String(vmid));
    await ops.requireState(driver, g, ['stopped']);
    const volids = options.keepVolumes ? [] : await volumesToDestroy(ops, g, task);
    await ops.repo.delete(g.type, vmid, g.digest);
    await freeVolumesBestEffort(
      ops,
      vmid,
      volids.map((volid) => ({ volid })),
      task.logger,
    );
    // The guest is stopped: its run directory (sockets, generated configs) goes with it.
    await rm(join(ops.deps.runDir, g.type, String(vmid)), { recursive: true, force: true });
    ops.deps.events.emit('guest:state', { vmid, type: g.type, state: 'destroyed' });
  });
}

/**
 * The volumes a destroy frees, as Proxmox's `destroy_vm`: those the config references (any
 * section) that the guest owns (their name carries its vmid: a shared ISO attached as a disk,
 * or another guest's volume, is kept), plus volumes it owns that nothing references (left by
 * an interrupted operation). Refuses a template whose bases still have linked clones.
 *
 * @throws ConflictError naming a base and its linked clones.
 */
async function volumesToDestroy(ops: GuestOperations, g: StoredGuestConfig, task: TaskHandle): Promise<string[]> {
  const driver = ops.driver(g.type);
  const storage = ops.deps.storage;
  const out = new Set<string>();
  const referenced = new Set<string>();
  for (const entries of [g.doc.current, g.doc.pending, ...g.doc.snapshots.map((s) => s.entries)]) {
    for (const v of managedVolumes(driver, entries)) referenced.add(v.volid);
  }
  for (const volid of referenced) {
    let parsed;
    try {
      parsed = await storage.parse(volid);
    } catch (err) {
      task.logger.warn(`kept ${volid}: cannot tell its owner (${(err as Error).message})`);
      continue;
    }
    if (parsed.vmid !== g.vmid) {
      task.log(`kept ${volid}: not owned by guest ${g.vmid}`);
      continue;
    }
    if (parsed.isBase) {
      const clones = await storage.linkedClones(volid);
      if (clones.length > 0) {
        throw new ConflictError(`guest ${g.vmid} is a template whose base ${volid} still has linked clones: ${clones.join(', ')}`);
      }
    }
    out.add(volid);
  }
  const owned = await storage.volumesOwnedBy(g.vmid);
  for (const problem of owned.problems) task.logger.warn(problem);
  for (const volid of owned.volids) {
    if (out.has(volid) || referenced.has(volid)) continue;
    task.log(`also freeing ${volid}: owned by guest ${g.vmid}, referenced by no config key`);
    out.add(volid);
  }
  return [...out];
}

/**
 * `kernel.guests.unlock`: clears the persistent `lock:` key and repairs what the interrupted
 * operation left.
 * @internal
 * @packageDocumentation
 */
import type { GuestOperationOptions, GuestOperations, GuestTaskResult } from './GuestOperations.js';
import { dropBrokenSnapshots } from './guestSnapshots.js';

/** What {@link GuestFacade.unlock} did. */
export interface GuestUnlockResult extends GuestTaskResult {
  /** The lock that was cleared, or undefined when the guest was not locked. */
  readonly lock?: string;
  /**
   * Snapshot sections dropped because an interrupted `snapshot` or `snapshot-delete` left them
   * unfinished (each a task log line), or their disks lack the snapshot (each a task warning).
   */
  readonly droppedSnapshots: readonly string[];
}

/**
 * Clears the persistent lock (`qm unlock`), as a task under the guest lock. When the lock says
 * an operation was interrupted (its process died), the guest is made usable first: the driver's
 * `recover` runs (for a VM whose RAM snapshot was interrupted: the state job and nodes are
 * dropped, frozen file systems thawed, the paused VM resumed); after a `snapshot` or
 * `snapshot-delete` lock, config and disks are made to agree: a half-taken (`snapstate:
 * prepare`) or half-deleted (`snapstate: delete`) snapshot, or one whose disks lack it, is
 * deleted with what is left of it (failures there are task warnings).
 * When the driver's repair fails, nothing is dropped and the lock stays: the task fails with
 * the driver's error, so the guest is never reported usable when it is not (stop it, then
 * unlock again).
 */
export async function unlockGuest(ops: GuestOperations, vmid: number, options: GuestOperationOptions): Promise<GuestUnlockResult> {
  let lock: string | undefined;
  let droppedSnapshots: string[] = [];
  const result = await ops.guestTask('unlock', vmid, options, async (g, { task, signal }) => {
    lock = g.doc.current.lock;
    if (lock === undefined) return;
    const driver = ops.driver(g.type);
    const ctx = await ops.context(vmid, g.type, { log: task.logger, signal });
    const current = { ...g.doc.current };
    delete current.lock;
    await driver.recover?.(ctx, current, { lock });
    if (lock === 'snapshot' || lock === 'snapshot-delete') droppedSnapshots = await dropBrokenSnapshots(ops, driver, ctx, g.doc, task.logger);
    delete g.doc.current.lock;
    await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
    task.log(`removed lock '${lock}'`);
  });
  return { ...result, lock, droppedSnapshots };
}

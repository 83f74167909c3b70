/**
 * `kernel.guests.unlock`: clears the persistent `lock:` key and repairs what the interrupted
 * operation left.
 * @internal
 * @packageDocumentation
 */
import type { GuestOperationOptions, GuestOperations, GuestTaskResult } from './GuestOperations.js';
import { dropPreparedSnapshots } from './guestSnapshots.js';

/** What {@link GuestFacade.unlock} did. */
export interface GuestUnlockResult extends GuestTaskResult {
  /** The lock that was cleared, or undefined when the guest was not locked. */
  readonly lock?: string;
  /** Snapshots an interrupted `snapshot` had begun, dropped. */
  readonly droppedSnapshots: readonly string[];
}

/**
 * Clears the persistent lock (`qm unlock`), as a task under the guest lock. When the lock says
 * an operation was interrupted (its process died), the guest is made usable first: the driver's
 * `recover` runs (for a VM whose RAM snapshot was interrupted: the state job and nodes are
 * dropped, frozen file systems thawed, the paused VM resumed), and the half-taken snapshot
 * (`snapstate: prepare`) is deleted with what it made (a failure there is a task warning).
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
    if (lock === 'snapshot') droppedSnapshots = await dropPreparedSnapshots(driver, ctx, g.doc, task.logger);
    for (const name of droppedSnapshots) task.log(`dropped the interrupted snapshot '${name}'`);
    delete g.doc.current.lock;
    await ops.repo.write(g.type, vmid, g.doc, g.digest, task.logger);
    task.log(`removed lock '${lock}'`);
  });
  return { ...result, lock, droppedSnapshots };
}

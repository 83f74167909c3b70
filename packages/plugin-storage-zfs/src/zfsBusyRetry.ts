/**
 * Retrying a `zfs` command while ZFS reports the dataset busy.
 *
 * @packageDocumentation
 */
import { ZfsCommands } from './ZfsCommands.js';
import { zfsFailure } from './zfsErrors.js';
import type { ZfsSession } from './ZfsSession.js';

/** How many times a busy command is tried in all (Proxmox's `zfs_delete_zvol` loop tries 6). */
export const BUSY_ATTEMPTS = 6;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `attempt` (a `zfs destroy`, `rename` or `mount` of `dataset`) and, while it fails with
 * ZFS's "busy", tries again, waiting 250 ms, 500 ms, ... between tries ({@link BUSY_ATTEMPTS}
 * tries, about 3.75 s of waiting at most). zfs-fuse reports a mounted filesystem busy even when
 * nothing uses it, sometimes still right after `zfs unmount`, and a mount busy right after an
 * unmount. With `unmountBetweenTries` (destroy, rename) the filesystem is unmounted before each
 * retry and `onUnmount` is told before the first unmount (the caller may want to mount again
 * afterwards). Snapshots (`@` in the name) are never unmounted.
 *
 * Rejects with the last command error: any failure other than busy at once, busy after the
 * last try.
 */
export async function retryWhileBusy(
  s: ZfsSession,
  dataset: string,
  attempt: (tryNumber: number) => Promise<unknown>,
  options: { readonly unmountBetweenTries: boolean; readonly onUnmount?: () => void },
): Promise<void> {
  for (let tryNumber = 0; ; tryNumber++) {
    try {
      await attempt(tryNumber);
      return;
    } catch (err) {
      if (zfsFailure(err) !== 'busy' || tryNumber >= BUSY_ATTEMPTS - 1) throw err;
      if (options.unmountBetweenTries && !dataset.includes('@')) {
        if (tryNumber === 0) options.onUnmount?.();
        await s.run(ZfsCommands.unmount(dataset)).catch(() => undefined);
      }
      await sleep(250 * (tryNumber + 1));
    }
  }
}

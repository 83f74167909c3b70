import { LockTimeoutError } from '../errors.js';
import { LockManagerBase, type LockLease, type LockMode, type LockOptions } from './LockManager.js';
import { createLease, lockAborted, validateLockArgs } from './lockArgs.js';

interface Waiter {
  readonly mode: LockMode;
  grant(): void;
  settled: boolean;
}

interface LockState {
  /** True while an exclusive holder has it. */
  exclusive: boolean;
  /** Number of shared holders. */
  shared: number;
  readonly queue: Waiter[];
}

/**
 * In-process named locks: one FIFO reader-writer lock per name.
 *
 * Only serializes callers inside this process: use {@link HostLockManager} (the kernel's
 * default) when other processes share the state. Grants are strictly in request order: a
 * shared request waits behind a queued exclusive one (no writer starvation), and consecutive
 * shared requests at the head of the queue are granted together. Locks are not reentrant and
 * never lost. A lock with no holder and no waiter uses no memory.
 */
export class LocalLockManager extends LockManagerBase {
  readonly #locks = new Map<string, LockState>();

  /** {@inheritDoc LockManager.acquire} */
  acquire(name: string, options: LockOptions = {}): Promise<LockLease> {
    let timeoutMs: number;
    let mode: LockMode;
    try {
      ({ timeoutMs, mode } = validateLockArgs(name, options));
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(lockAborted(name, signal));

    let state = this.#locks.get(name);
    if (!state) {
      state = { exclusive: false, shared: 0, queue: [] };
      this.#locks.set(name, state);
    }
    if (state.queue.length === 0 && compatible(state, mode)) {
      take(state, mode);
      return Promise.resolve(this.#lease(name, mode, state));
    }
    if (timeoutMs === 0) return Promise.reject(new LockTimeoutError(name, 0));

    const lockState = state;
    return new Promise<LockLease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = (error: Error): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        cleanup();
        const i = lockState.queue.indexOf(waiter);
        if (i >= 0) lockState.queue.splice(i, 1);
        // A shared waiter behind this one may be grantable now.
        this.#wake(name, lockState);
        reject(error);
      };
      const waiter: Waiter = {
        mode,
        settled: false,
        grant: () => {
          waiter.settled = true;
          cleanup();
          resolve(this.#lease(name, mode, lockState));
        },
      };
      const onAbort = (): void => giveUp(lockAborted(name, signal!));
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => giveUp(new LockTimeoutError(name, timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      lockState.queue.push(waiter);
    });
  }

  /** True while someone holds `name` (in any mode). Diagnostics and tests. */
  isLocked(name: string): boolean {
    const s = this.#locks.get(name);
    return s !== undefined && (s.exclusive || s.shared > 0);
  }

  /** Number of callers waiting for `name`. */
  waiting(name: string): number {
    return this.#locks.get(name)?.queue.length ?? 0;
  }

  #lease(name: string, mode: LockMode, state: LockState): LockLease {
    return createLease(name, mode, () => {
      if (mode === 'exclusive') state.exclusive = false;
      else state.shared--;
      this.#wake(name, state);
    }).lease;
  }

  /** Grants the head of the queue (all consecutive shared waiters at once) when it fits. */
  #wake(name: string, state: LockState): void {
    while (state.queue.length > 0 && compatible(state, state.queue[0]!.mode)) {
      const next = state.queue.shift()!;
      // Hand over directly: the lock stays held, so no newcomer can jump the queue.
      take(state, next.mode);
      next.grant();
    }
    if (!state.exclusive && state.shared === 0 && state.queue.length === 0 && this.#locks.get(name) === state) this.#locks.delete(name);
  }
}

function compatible(state: LockState, mode: LockMode): boolean {
  return mode === 'shared' ? !state.exclusive : !state.exclusive && state.shared === 0;
}

function take(state: LockState, mode: LockMode): void {
  if (mode === 'exclusive') state.exclusive = true;
  else state.shared++;
}

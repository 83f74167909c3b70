import { LockTimeoutError } from '../errors.js';
import type { LockManager, LockOptions, LockRelease } from './LockManager.js';
import { lockAborted, validateLockArgs } from './lockArgs.js';

interface Waiter {
  grant(): void;
  settled: boolean;
}

interface LockState {
  held: boolean;
  readonly queue: Waiter[];
}

/**
 * In-process named locks: one FIFO async mutex per name.
 *
 * Only serializes callers inside this process; pair it with compare-and-set on the config
 * digest (or use {@link HostLockManager}) when other processes write the same state.
 * Locks are not reentrant. A lock with no holder and no waiter uses no memory.
 */
export class LocalLockManager implements LockManager {
  readonly #locks = new Map<string, LockState>();

  /** {@inheritDoc LockManager.acquire} */
  acquire(name: string, options: LockOptions = {}): Promise<LockRelease> {
    let timeoutMs: number;
    try {
      timeoutMs = validateLockArgs(name, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(lockAborted(name, signal));

    let state = this.#locks.get(name);
    if (!state) {
      state = { held: false, queue: [] };
      this.#locks.set(name, state);
    }
    if (!state.held) {
      state.held = true;
      return Promise.resolve(this.#releaser(name, state));
    }
    if (timeoutMs === 0) return Promise.reject(new LockTimeoutError(name, 0));

    const lockState = state;
    return new Promise<LockRelease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const dequeue = (): void => {
        const i = lockState.queue.indexOf(waiter);
        if (i >= 0) lockState.queue.splice(i, 1);
      };
      const waiter: Waiter = {
        settled: false,
        grant: () => {
          waiter.settled = true;
          cleanup();
          resolve(this.#releaser(name, lockState));
        },
      };
      const onAbort = (): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        cleanup();
        dequeue();
        reject(lockAborted(name, signal!));
      };
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          if (waiter.settled) return;
          waiter.settled = true;
          cleanup();
          dequeue();
          reject(new LockTimeoutError(name, timeoutMs));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      lockState.queue.push(waiter);
    });
  }

  /** {@inheritDoc LockManager.withLock} */
  async withLock<T>(name: string, fn: () => Promise<T> | T, options?: LockOptions): Promise<T> {
    const release = await this.acquire(name, options);
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  /** True while someone holds `name` (diagnostics and tests). */
  isLocked(name: string): boolean {
    return this.#locks.get(name)?.held ?? false;
  }

  /** Number of callers waiting for `name`. */
  waiting(name: string): number {
    return this.#locks.get(name)?.queue.length ?? 0;
  }

  #releaser(name: string, state: LockState): LockRelease {
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const next = state.queue.shift();
      if (next) {
        // Hand over directly: the lock stays held, so no newcomer can jump the queue.
        next.grant();
      } else {
        state.held = false;
        this.#locks.delete(name);
      }
    };
  }
}

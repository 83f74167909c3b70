import { LocalLockManager } from './LocalLockManager.js';
import { acquireHostLock } from './acquireHostLock.js';
import { DEFAULT_LOCK_TIMEOUT_MS, type LockManager, type LockOptions, type LockRelease } from './LockManager.js';
import { LockTimeoutError } from '../errors.js';

/** Options of {@link HostLockManager}. */
export interface HostLockManagerOptions {
  /**
   * Scope of the lock names, e.g. the kernel's dataDir: two managers with the same namespace
   * exclude each other across processes, different namespaces never do.
   */
  readonly namespace: string;
}

/**
 * Named locks exclusive across every process on this host (a CLI and a daemon sharing one
 * dataDir): FIFO inside this process ({@link LocalLockManager}), then a host lock
 * ({@link acquireHostLock}, an abstract unix socket freed by the kernel when the holder dies).
 *
 * `timeoutMs` covers both waits together. Same network-namespace caveat as
 * {@link acquireHostLock}.
 */
export class HostLockManager implements LockManager {
  readonly #local = new LocalLockManager();
  readonly #namespace: string;

  constructor(options: HostLockManagerOptions) {
    this.#namespace = options.namespace;
  }

  /** {@inheritDoc LockManager.acquire} */
  async acquire(name: string, options: LockOptions = {}): Promise<LockRelease> {
    const started = performance.now();
    const releaseLocal = await this.#local.acquire(name, options);
    try {
      const total = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const left = Math.max(0, total - (performance.now() - started));
      const releaseHost = await acquireHostLock(name, { ...options, timeoutMs: left, scope: this.#namespace });
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await releaseHost();
        await releaseLocal();
      };
    } catch (error) {
      await releaseLocal();
      // Report the caller's whole timeout, not what was left for the second wait.
      if (error instanceof LockTimeoutError) throw new LockTimeoutError(name, options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
      throw error;
    }
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
}

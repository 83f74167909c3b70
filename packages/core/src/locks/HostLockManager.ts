import { LockTimeoutError } from '../errors.js';
import { LocalLockManager } from './LocalLockManager.js';
import { acquireHostLock } from './acquireHostLock.js';
import { createLease } from './lockArgs.js';
import { DEFAULT_LOCK_TIMEOUT_MS, LockManagerBase, type LockLease, type LockOptions } from './LockManager.js';

/** Options of {@link HostLockManager}. */
export interface HostLockManagerOptions {
  /**
   * Scope of the lock names, e.g. the kernel's dataDir: two managers with the same namespace
   * exclude each other across processes, different namespaces never do.
   */
  readonly namespace: string;
}

/**
 * Named locks that hold across every process on this host (a CLI and a daemon sharing one
 * dataDir): the kernel's default {@link LockManager}. FIFO inside this process
 * ({@link LocalLockManager}), then a host lock of the same mode ({@link acquireHostLock}, an
 * abstract unix socket freed by the kernel when the holder dies, so a crashed holder never
 * leaves a stale lock).
 *
 * `timeoutMs` covers both waits together. The lease is lost when the host lock's socket is
 * closed under it. Same network-namespace caveat as {@link acquireHostLock}.
 */
export class HostLockManager extends LockManagerBase {
  readonly #local = new LocalLockManager();
  readonly #namespace: string;

  /** @param options.namespace the scope of the lock names (the kernel uses its data dir). */
  constructor(options: HostLockManagerOptions) {
    super();
    this.#namespace = options.namespace;
  }

  /** {@inheritDoc LockManager.acquire} */
  async acquire(name: string, options: LockOptions = {}): Promise<LockLease> {
    const started = performance.now();
    const local = await this.#local.acquire(name, options);
    let host: LockLease;
    try {
      const total = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const left = Math.max(0, total - (performance.now() - started));
      host = await acquireHostLock(name, { ...options, timeoutMs: left, scope: this.#namespace });
    } catch (error) {
      await local.release();
      // Report the caller's whole timeout, not what was left for the second wait.
      if (error instanceof LockTimeoutError) throw new LockTimeoutError(name, options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
      throw error;
    }
    const controller = createLease(name, host.mode, async () => {
      await host.release();
      await local.release();
    });
    host.lost.addEventListener('abort', () => controller.markLost('its host lock was lost', host.lost.reason), { once: true });
    return controller.lease;
  }
}

import { LockTimeoutError } from '../errors.js';
import { LocalLockManager } from './LocalLockManager.js';
import { acquireHostLock, defaultHostLockDirectory } from './acquireHostLock.js';
import { createLease } from './lockArgs.js';
import { DEFAULT_LOCK_TIMEOUT_MS, LockManagerBase, type LockLease, type LockOptions } from './LockManager.js';

/** Options of {@link HostLockManager}. */
export interface HostLockManagerOptions {
  /**
   * Scope of the lock names, e.g. the kernel's dataDir: two managers with the same namespace
   * exclude each other across processes, different namespaces never do.
   */
  readonly namespace: string;
  /**
   * Directory of the lock files (see {@link acquireHostLock}). Default
   * {@link defaultHostLockDirectory} (`/run/corral/locks` for root).
   */
  readonly directory?: string;
}

/**
 * Named locks that hold across every process on this host (a CLI and a daemon sharing one
 * dataDir): the kernel's default {@link LockManager}. FIFO inside this process
 * ({@link LocalLockManager}), then a host lock of the same mode ({@link acquireHostLock}: a
 * unix socket in a root-only directory, so no other local user can take or block a lock; a
 * holder that dies leaves nothing the next acquirer cannot safely remove).
 *
 * `timeoutMs` covers both waits together. The lease is lost when the host lock's socket is
 * closed under it. Errors as {@link acquireHostLock}.
 */
export class HostLockManager extends LockManagerBase {
  readonly #local = new LocalLockManager();
  readonly #namespace: string;
  readonly #directory: string | undefined;

  /**
   * @param options.namespace the scope of the lock names (the kernel uses its data dir).
   * @param options.directory where the lock files live (default: see {@link defaultHostLockDirectory}).
   */
  constructor(options: HostLockManagerOptions) {
    super();
    this.#namespace = options.namespace;
    this.#directory = options.directory;
  }

  /** {@inheritDoc LockManager.acquire} */
  async acquire(name: string, options: LockOptions = {}): Promise<LockLease> {
    const started = performance.now();
    const local = await this.#local.acquire(name, options);
    let host: LockLease;
    try {
      const total = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
      const left = Math.max(0, total - (performance.now() - started));
      host = await acquireHostLock(name, { ...options, timeoutMs: left, scope: this.#namespace, directory: this.#directory });
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

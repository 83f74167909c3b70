/**
 * Named mutual-exclusion locks (the per-guest lock around every config change, storage locks...).
 *
 * Implementations: {@link LocalLockManager} (one process), {@link HostLockManager} (every
 * process on this host), and the cluster plugin's etcd-backed one.
 *
 * @packageDocumentation
 */

/**
 * Releases a held lock. Idempotent: calling it again does nothing. Resolves once the lock can
 * be taken by the next waiter (immediately for local locks, after a round trip for
 * distributed ones).
 */
export type LockRelease = () => Promise<void>;

/** Options of {@link LockManager.acquire} and {@link LockManager.withLock}. */
export interface LockOptions {
  /**
   * How long to wait for the lock, in milliseconds. Default {@link DEFAULT_LOCK_TIMEOUT_MS}
   * (10 s, as Proxmox's `lock_config`). `0` tries once; `Infinity` waits forever.
   */
  readonly timeoutMs?: number;
  /** Aborting stops the wait with `AbortedError` (a held lock is not affected). */
  readonly signal?: AbortSignal;
}

/** Default wait for a lock, ms (Proxmox waits 10 s for a config lock). */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/**
 * Named exclusive locks, granted in request order (FIFO) where the implementation can.
 * Locks are NOT reentrant: taking a lock the same flow already holds waits until timeout.
 */
export interface LockManager {
  /**
   * Waits for the lock `name` and returns its release function.
   *
   * @throws LockTimeoutError when not granted within `timeoutMs` (naming the lock and the timeout).
   * @throws AbortedError when `signal` aborts first.
   * @throws InvalidArgumentError for an empty name or a negative/NaN timeout.
   */
  acquire(name: string, options?: LockOptions): Promise<LockRelease>;
  /**
   * Runs `fn` while holding `name`, releasing it however `fn` ends. Errors as
   * {@link LockManager.acquire}, plus whatever `fn` throws.
   */
  withLock<T>(name: string, fn: () => Promise<T> | T, options?: LockOptions): Promise<T>;
}

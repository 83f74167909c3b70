/**
 * Named locks: the per-guest lock around every config change, storage locks, and whatever
 * a plugin needs to serialize.
 *
 * Implementations: {@link HostLockManager} (every process on this host: the kernel's default),
 * {@link LocalLockManager} (one process only), and the cluster plugin's etcd-backed one.
 *
 * @packageDocumentation
 */

/**
 * How a lock is held. `exclusive` (the default) admits one holder; `shared` admits any number
 * of shared holders at once and no exclusive one (a clone reading a template holds it shared,
 * so that a destroy, which takes it exclusive, waits).
 */
export type LockMode = 'exclusive' | 'shared';

/** Options of {@link LockManager.acquire} and {@link LockManager.withLock}. */
export interface LockOptions {
  /**
   * How long to wait for the lock, in milliseconds. Default {@link DEFAULT_LOCK_TIMEOUT_MS}
   * (10 s, as Proxmox's `lock_config`). `0` tries once; `Infinity` waits forever.
   */
  readonly timeoutMs?: number;
  /** Aborting stops the wait with `AbortedError` (a held lock is not affected). */
  readonly signal?: AbortSignal;
  /** Default `exclusive`. */
  readonly mode?: LockMode;
}

/** Default wait for a lock, ms (Proxmox waits 10 s for a config lock). */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/**
 * A held lock.
 *
 * `lost` aborts, with a `LockLostError` as its reason, when the lock stops protecting its
 * holder before {@link LockLease.release}: a cluster lock whose lease expired, a host lock
 * whose socket was closed under it. Work done under the lock passes `lost` (combined with its
 * own signal) to every wait and command, so it stops instead of running unprotected. Locks of
 * one process ({@link LocalLockManager}) are never lost.
 */
export interface LockLease {
  /** The lock's name. */
  readonly name: string;
  /** The mode it is held in. */
  readonly mode: LockMode;
  /** Aborted when the lock is lost (reason: `LockLostError`). Never aborted by {@link release}. */
  readonly lost: AbortSignal;
  /**
   * Releases the lock. Idempotent: calling it again does nothing. Resolves once the lock can
   * be taken by the next waiter (immediately for local locks, after a round trip for
   * distributed ones).
   */
  release(): Promise<void>;
}

/**
 * Named locks with exclusive and shared modes, granted in request order (FIFO) where the
 * implementation can. Locks are NOT reentrant: taking a lock the same flow already holds waits
 * until timeout (shared included, when an exclusive request is queued in between).
 */
export interface LockManager {
  /**
   * Waits for the lock `name` in `options.mode` and returns the lease.
   *
   * @throws LockTimeoutError when not granted within `timeoutMs` (naming the lock and the timeout).
   * @throws AbortedError when `signal` aborts first.
   * @throws InvalidArgumentError for an empty name, a negative/NaN timeout or an unknown mode.
   */
  acquire(name: string, options?: LockOptions): Promise<LockLease>;
  /**
   * Runs `fn` while holding `name`, releasing it however `fn` ends. Errors as
   * {@link LockManager.acquire}, plus whatever `fn` throws; when `fn` succeeds but the lock was
   * lost meanwhile, throws the `LockLostError` (what `fn` did ran unprotected).
   */
  withLock<T>(name: string, fn: (lease: LockLease) => Promise<T> | T, options?: LockOptions): Promise<T>;
}

/**
 * {@link LockManager.withLock} on top of `acquire`, shared by the implementations.
 */
export abstract class LockManagerBase implements LockManager {
  abstract acquire(name: string, options?: LockOptions): Promise<LockLease>;

  /** {@inheritDoc LockManager.withLock} */
  async withLock<T>(name: string, fn: (lease: LockLease) => Promise<T> | T, options?: LockOptions): Promise<T> {
    const lease = await this.acquire(name, options);
    try {
      const out = await fn(lease);
      if (lease.lost.aborted) throw lease.lost.reason;
      return out;
    } finally {
      await lease.release();
    }
  }
}

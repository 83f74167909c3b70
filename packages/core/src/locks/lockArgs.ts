/**
 * Argument checks, errors and the lease object shared by the lock managers.
 * @internal
 * @packageDocumentation
 */
import { AbortedError, InvalidArgumentError, LockLostError } from '../errors.js';
import { DEFAULT_LOCK_TIMEOUT_MS, type LockLease, type LockMode, type LockOptions } from './LockManager.js';

/**
 * Checks the common arguments of lock calls; returns the timeout and the mode.
 * @internal
 */
export function validateLockArgs(name: string, options: LockOptions): { timeoutMs: number; mode: LockMode } {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('name', 'lock name must be a non-empty string');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError('timeoutMs', `lock timeout must be a number >= 0 (ms), got ${String(timeoutMs)}`);
  }
  const mode = options.mode ?? 'exclusive';
  if (mode !== 'exclusive' && mode !== 'shared') {
    throw new InvalidArgumentError('mode', `lock mode must be 'exclusive' or 'shared', got '${String(mode)}'`);
  }
  return { timeoutMs, mode };
}

/** Makes the AbortedError a lock wait ends with. @internal */
export function lockAborted(name: string, signal: AbortSignal): AbortedError {
  return new AbortedError(`waiting for lock '${name}' was aborted`, { cause: signal.reason });
}

/**
 * A {@link LockLease} with the two operations its manager needs: `markLost` (aborts `lost`
 * once, unless released) and a release that runs `free` exactly once.
 * @internal
 */
export interface LeaseController {
  readonly lease: LockLease;
  /** Signals the loss of the lock to its holder (no effect after release). */
  markLost(why: string, cause?: unknown): void;
}

/** Builds a lease whose release calls `free` once. @internal */
export function createLease(name: string, mode: LockMode, free: () => Promise<void> | void): LeaseController {
  const lost = new AbortController();
  let released = false;
  let releasing: Promise<void> | undefined;
  const lease: LockLease = {
    name,
    mode,
    lost: lost.signal,
    release: () => {
      if (!releasing) {
        released = true;
        releasing = Promise.resolve().then(free);
      }
      return releasing;
    },
  };
  return {
    lease,
    markLost(why, cause) {
      if (released || lost.signal.aborted) return;
      lost.abort(new LockLostError(name, why, { cause }));
    },
  };
}


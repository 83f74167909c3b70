/**
 * Argument checks and errors shared by the lock managers.
 * @internal
 * @packageDocumentation
 */
import { AbortedError, InvalidArgumentError } from '../errors.js';
import { DEFAULT_LOCK_TIMEOUT_MS, type LockOptions } from './LockManager.js';

/**
 * Checks the common arguments of lock calls.
 * @internal
 */
export function validateLockArgs(name: string, options: LockOptions): number {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('name', 'lock name must be a non-empty string');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError('timeoutMs', `lock timeout must be a number >= 0 (ms), got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/** Makes the AbortedError a lock wait ends with. @internal */
export function lockAborted(name: string, signal: AbortSignal): AbortedError {
  return new AbortedError(`waiting for lock '${name}' was aborted`, { cause: signal.reason });
}


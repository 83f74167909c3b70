import { AbortedError, TimeoutError } from '@corral/core';

/** Timeout and cancellation of one wait. */
export interface WaitOptions {
  /** Give up after this many milliseconds (rejects with `TimeoutError`). 0 or absent: no timeout. */
  timeoutMs?: number;
  /** Cancels the wait (rejects with `AbortedError`). */
  signal?: AbortSignal;
}

/**
 * Settles a promise from callbacks, with a timeout and an AbortSignal.
 *
 * `start` is called once with `resolve`/`reject`; it may return a cleanup function, which runs
 * exactly once when the promise settles for any reason (value, error, timeout or abort).
 * Rejects with `TimeoutError` (`what`, timeoutMs) after `timeoutMs`, with `AbortedError` when
 * `signal` fires (also when it has fired already: `start` is then not called).
 */
export function waitFor<T>(
  what: string,
  options: WaitOptions,
  start: (resolve: (value: T) => void, reject: (error: unknown) => void) => (() => void) | void,
): Promise<T> {
  const { timeoutMs, signal } = options;
  if (signal?.aborted) return Promise.reject(new AbortedError(`${what}: aborted`, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: (() => void) | void = undefined;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => finish(() => reject(new AbortedError(`${what}: aborted`, { cause: signal?.reason })));
    function finish(settle: () => void): void {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        cleanup?.();
      } finally {
        settle();
      }
    }
    if (timeoutMs !== undefined && timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => finish(() => reject(new TimeoutError(what, timeoutMs))), timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      cleanup = start(
        (value) => finish(() => resolve(value)),
        (error) => finish(() => reject(error)),
      );
    } catch (error) {
      finish(() => reject(error));
      return;
    }
    // start() may have settled synchronously before cleanup was assigned.
    if (done) cleanup?.();
  });
}

/** Resolves after `ms` milliseconds; rejects with `AbortedError` when `signal` fires first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return waitFor<void>('delay', { signal }, (resolve) => {
    const t = setTimeout(resolve, ms);
    return () => clearTimeout(t);
  });
}

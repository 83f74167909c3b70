import { CorralError, UnavailableError } from '@corral/core';

/**
 * Runs one etcd call with an overall bound: the call's own result or error, or an
 * `UnavailableError` (`CORRAL_ERR_UNAVAILABLE`, component `etcd`) naming `what` and the
 * endpoints once `timeoutMs` milliseconds have passed, so a lost quorum never hangs the
 * caller. A non-Corral error thrown by the client (gRPC unavailable, deadline exceeded,
 * an open circuit breaker, "no leader") becomes an `UnavailableError` too, its `cause` kept.
 * After such an error the outcome of a write is unknown (etcd may still apply it once a
 * quorum answers): read the key back, or compare-and-set, before relying on it.
 */
export async function etcdCall<T>(what: string, endpoints: readonly string[], timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new UnavailableError('etcd', `etcd at ${endpoints.join(', ')} did not answer ${what} within ${timeoutMs} ms (no quorum or no member reachable)`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([call(), expired]);
  } catch (err) {
    throw asCorralError(what, endpoints, err);
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps a client error as `UnavailableError` naming `what` and the endpoints; Corral errors pass through. */
export function asCorralError(what: string, endpoints: readonly string[], err: unknown): CorralError {
  if (err instanceof CorralError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new UnavailableError('etcd', `etcd at ${endpoints.join(', ')} failed ${what}: ${detail}`, { cause: err });
}

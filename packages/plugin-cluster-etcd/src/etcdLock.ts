import { LockTimeoutError, type Lease } from '@corral/core';
import type { EtcdClusterStore } from './EtcdClusterStore.js';

/**
 * etcd's mutex recipe: puts the waiter key `<prefix><lease id>` attached to `lease` (only if
 * absent), then waits until no waiter with an older create revision is left, watching the
 * next older one for deletion. Returns the waiter key once it is the oldest.
 *
 * Throws `LockTimeoutError` (naming `name`) after `timeoutMs`, `UnavailableError` when etcd
 * cannot be reached, the lease's loss reason when the lease is lost while waiting; in every
 * failure case the waiter key is deleted (best effort: it also goes with the lease).
 */
export async function acquireEtcdLock(store: EtcdClusterStore, prefix: string, lease: Lease, name: string, timeoutMs: number): Promise<string> {
  const key = `${prefix}${lease.id}`;
  const client = store.client;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new LockTimeoutError(name, timeoutMs)), timeoutMs);
  const onLost = () => stop.abort(lease.lost.reason);
  lease.lost.addEventListener('abort', onLost, { once: true });
  if (lease.lost.aborted) onLost();
  try {
    const created = await race(stop.signal, store.bounded(`lock '${name}'`, () =>
      client.if(key, 'Create', '==', 0).then(client.put(key).value('').lease(lease.id)).else(client.get(key)).commit(),
    ));
    const myRevision = BigInt(created.succeeded ? created.header.revision : created.responses[0]!.response_range.kvs[0]!.create_revision);
    for (;;) {
      const waiters = await race(stop.signal, store.bounded(`lock '${name}'`, () => client.getAll().prefix(prefix).sort('Create', 'Ascend').exec()));
      const older = waiters.kvs.filter((kv) => BigInt(kv.create_revision) < myRevision);
      if (older.length === 0) return key;
      const predecessor = older[older.length - 1]!.key.toString();
      await race(stop.signal, waitForDeletion(store, predecessor, BigInt(waiters.header.revision) + 1n, name, stop.signal));
    }
  } catch (err) {
    await store.delete(key).catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
    lease.lost.removeEventListener('abort', onLost);
  }
}

/** Resolves once `key` is deleted at or after `fromRevision`; ends its watch when `signal` aborts. */
async function waitForDeletion(store: EtcdClusterStore, key: string, fromRevision: bigint, name: string, signal: AbortSignal): Promise<void> {
  const watcher = await store.bounded(`lock '${name}'`, () => store.client.watch().key(key).startRevision(String(fromRevision)).create());
  try {
    await new Promise<void>((resolve, reject) => {
      watcher.on('delete', () => resolve());
      watcher.on('error', (err: Error) => reject(err));
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await watcher.cancel().catch(() => undefined);
  }
}

/** `promise`, or the signal's reason as soon as it aborts. */
function race<T>(signal: AbortSignal, promise: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

import {
  DigestMismatchError,
  InvalidArgumentError,
  UnavailableError,
  type ClusterLock,
  type ClusterStore,
  type KvEntry,
  type KvWatchEvent,
  type Lease,
} from '@corral/core';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError, type IKeyValue, type IWatchResponse } from 'etcd3';
import { performance } from 'node:perf_hooks';
import { etcdCall } from './etcdDeadline.js';
import { checkEtcdKey, checkRevision } from './etcdKeys.js';
import { EtcdLease } from './EtcdLease.js';
import { acquireEtcdLock } from './etcdLock.js';

/** How to reach etcd and how long to wait for it. */
export interface EtcdClusterStoreOptions {
  /** Client URLs of the etcd members (`http://127.0.0.1:2379`). At least one. */
  readonly endpoints: readonly string[];
  /**
   * Bound in milliseconds on every single call (get, put, txn, lease grant, watch creation):
   * past it the call throws `UnavailableError`. Default 5000.
   */
  readonly operationTimeoutMs?: number;
  /** TTL in seconds of the lease a lock takes when the caller passes none. Default 10. */
  readonly lockTtlSec?: number;
  /** Key prefix under which locks keep their waiters. Default `corral/locks/`. */
  readonly lockPrefix?: string;
}

/** Options of {@link EtcdClusterStore.watch} beyond the contract. */
export interface EtcdWatchOptions {
  /** Revision (decimal string) to start from, to resume a watch after a restart; default: changes after the call. */
  readonly fromRevision?: string;
  /** Called when etcd ends the watch for good (e.g. the start revision was compacted). */
  readonly onError?: (error: Error) => void;
  /** Called each time the watch stream is re-established after it broke (member died, connection lost). */
  readonly onReconnect?: () => void;
}

/**
 * {@link ClusterStore} on etcd v3 (npm `etcd3`). Revisions are etcd's `mod_revision` as a
 * decimal string; keys are stored as given; values are bytes.
 *
 * Every call is bounded by `operationTimeoutMs`: when no quorum answers (members down,
 * partition) it throws `UnavailableError` (`CORRAL_ERR_UNAVAILABLE`, component `etcd`)
 * naming the endpoints, and never hangs. The client tries the other endpoints when one
 * fails, so losing a minority of members is invisible to callers.
 */
export class EtcdClusterStore implements ClusterStore {
  readonly endpoints: readonly string[];
  readonly operationTimeoutMs: number;
  readonly #client: Etcd3;
  readonly #lockTtlSec: number;
  readonly #lockPrefix: string;
  readonly #leases = new Set<EtcdLease>();
  readonly #watches = new Set<() => Promise<void>>();

  /** Connects lazily: the first call dials. Throws `InvalidArgumentError` on bad options. */
  constructor(options: EtcdClusterStoreOptions) {
    if (!Array.isArray(options?.endpoints) || options.endpoints.length === 0) {
      throw new InvalidArgumentError('endpoints', 'etcd cluster store needs at least one endpoint URL');
    }
    for (const e of options.endpoints) {
      if (typeof e !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(e)) throw new InvalidArgumentError('endpoints', `etcd endpoint '${String(e)}' is not an http(s)://host:port URL`);
    }
    this.endpoints = [...options.endpoints];
    this.operationTimeoutMs = positive('operationTimeoutMs', options.operationTimeoutMs ?? 5000);
    this.#lockTtlSec = positive('lockTtlSec', options.lockTtlSec ?? 10);
    this.#lockPrefix = checkEtcdKey('lockPrefix', options.lockPrefix ?? 'corral/locks/');
    const timeout = this.operationTimeoutMs;
    this.#client = new Etcd3({
      hosts: [...this.endpoints],
      dialTimeout: timeout,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: {
        // A member that failed 3 calls in a row is skipped for 1 s (etcd3's default: 5 s),
        // so a member that comes back is used again soon.
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: 3 }),
        // Watch streams reconnect within 1 s at most (default: up to 30 s). etcd3 calls
        // `next()` on this value, as on its own default (a backoff factory); its typing says otherwise.
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
      },
    });
  }

  /** The underlying etcd3 client, for what the contract does not cover. */
  get client(): Etcd3 {
    return this.#client;
  }

  /** Runs `call` under the store's bound; see the class description. */
  bounded<T>(what: string, call: () => Promise<T>): Promise<T> {
    return etcdCall(what, this.endpoints, this.operationTimeoutMs, call);
  }

  async get(key: string): Promise<KvEntry | null> {
    checkEtcdKey('key', key);
    const res = await this.bounded(`get of '${key}'`, () => this.#client.get(key).exec());
    return res.kvs.length === 0 ? null : toEntry(res.kvs[0]!);
  }

  async list(prefix: string): Promise<KvEntry[]> {
    checkEtcdKey('prefix', prefix);
    const res = await this.bounded(`list of '${prefix}'`, () => this.#client.getAll().prefix(prefix).sort('Key', 'Ascend').exec());
    return res.kvs.map(toEntry);
  }

  async put(key: string, value: Uint8Array, options: { lease?: Lease } = {}): Promise<KvEntry> {
    checkEtcdKey('key', key);
    const data = toBuffer(value);
    const res = await this.bounded(`put of '${key}'`, () => {
      const b = this.#client.put(key).value(data);
      if (options.lease) b.lease(options.lease.id);
      return b.exec();
    });
    return { key, value: new Uint8Array(data), revision: res.header.revision };
  }

  /**
   * Writes `value` only when `key`'s mod revision is `expectedRevision` (`null`: the key must
   * not exist), in one etcd transaction, attached to `options.lease` when given. Throws
   * `DigestMismatchError` (path = key, actual = the revision found or null) when another
   * writer got there first.
   */
  async compareAndSet(key: string, value: Uint8Array, expectedRevision: string | null, options: { lease?: Lease } = {}): Promise<KvEntry> {
    checkEtcdKey('key', key);
    if (expectedRevision !== null) checkRevision('expectedRevision', expectedRevision);
    const data = toBuffer(value);
    const res = await this.bounded(`compare-and-set of '${key}'`, () =>
      this.#client
        .if(key, 'Mod', '==', expectedRevision ?? 0)
        .then(options.lease ? this.#client.put(key).value(data).lease(options.lease.id) : this.#client.put(key).value(data))
        .else(this.#client.get(key))
        .commit(),
    );
    if (!res.succeeded) {
      const found = res.responses[0]?.response_range?.kvs?.[0];
      throw new DigestMismatchError(key, expectedRevision ?? 'absent', found ? found.mod_revision : null);
    }
    return { key, value: new Uint8Array(data), revision: res.header.revision };
  }

  /**
   * Deletes `key`; true when it existed. With `expectedRevision`, deletes only when the key's
   * mod revision matches and throws `DigestMismatchError` otherwise (also when it is gone).
   */
  async delete(key: string, options: { expectedRevision?: string } = {}): Promise<boolean> {
    checkEtcdKey('key', key);
    const expected = options.expectedRevision;
    if (expected === undefined) {
      const res = await this.bounded(`delete of '${key}'`, () => this.#client.delete().key(key).exec());
      return Number(res.deleted) > 0;
    }
    checkRevision('expectedRevision', expected);
    const res = await this.bounded(`delete of '${key}'`, () =>
      this.#client.if(key, 'Mod', '==', expected).then(this.#client.delete().key(key)).else(this.#client.get(key)).commit(),
    );
    if (!res.succeeded) {
      const found = res.responses[0]?.response_range?.kvs?.[0];
      throw new DigestMismatchError(key, expected, found ? found.mod_revision : null);
    }
    return true;
  }

  /**
   * Calls `onEvent` for each change under `prefix`, in etcd's revision order, until the
   * returned function is called. Starts with the changes after the store's revision at the
   * time the watch is created (or at `options.fromRevision`).
   *
   * Resumption: when the member the watch streams from dies, the client reconnects to another
   * member and restarts the watch at the revision after the last one it received, so no
   * change is lost and none is delivered twice (events below the last delivered revision are
   * dropped). A `fromRevision` that was compacted away is refused with `InvalidArgumentError`;
   * if the resume revision is compacted during an outage, etcd ends the watch and
   * `options.onError` is called.
   */
  async watch(prefix: string, onEvent: (event: KvWatchEvent) => void, options: EtcdWatchOptions = {}): Promise<() => Promise<void>> {
    checkEtcdKey('prefix', prefix);
    if (options.fromRevision !== undefined) checkRevision('fromRevision', options.fromRevision);
    if (options.fromRevision !== undefined) await this.#checkNotCompacted(prefix, options.fromRevision);
    let last = 0n;
    const builder = this.#client.watch().prefix(prefix);
    if (options.fromRevision !== undefined) builder.startRevision(options.fromRevision);
    const watcher = await this.bounded(`watch of '${prefix}'`, () => builder.create());
    // Where to restart after a broken stream: the revision after the last delivered event
    // (etcd3 itself moves its start revision to the header of its "created" answer, which
    // would skip a replay from `fromRevision` that had not arrived yet).
    let resumeAt = BigInt(options.fromRevision ?? watcher.request.start_revision ?? '0');
    watcher.on('disconnected', () => {
      if (resumeAt > 0n) watcher.request.start_revision = resumeAt.toString();
    });
    watcher.on('data', (res: IWatchResponse) => {
      for (const ev of res.events) {
        const rev = BigInt(ev.kv.mod_revision);
        if (rev < last) continue;
        last = rev;
        if (rev + 1n > resumeAt) resumeAt = rev + 1n;
        const key = ev.kv.key.toString();
        onEvent(
          ev.type === 'Put'
            ? { type: 'put', key, value: new Uint8Array(ev.kv.value), revision: ev.kv.mod_revision }
            : { type: 'delete', key, revision: ev.kv.mod_revision },
        );
      }
    });
    watcher.on('error', (err: Error) => options.onError?.(err));
    let broken = false;
    watcher.on('disconnected', () => (broken = true));
    watcher.on('connected', () => {
      if (broken) options.onReconnect?.();
      broken = false;
    });
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      this.#watches.delete(stop);
      await watcher.cancel().catch(() => undefined);
    };
    this.#watches.add(stop);
    return stop;
  }

  /** Throws `InvalidArgumentError` when `revision` was compacted away (a historical read of it fails). */
  async #checkNotCompacted(prefix: string, revision: string): Promise<void> {
    try {
      await this.bounded(`read of '${prefix}' at revision ${revision}`, () => this.#client.getAll().prefix(prefix).revision(revision).limit(1).keys());
    } catch (err) {
      if (err instanceof UnavailableError && /compacted/.test(String((err.cause as Error | undefined)?.message))) {
        throw new InvalidArgumentError('fromRevision', `revision ${revision} was compacted: list '${prefix}' again and watch from the current revision`, { cause: err });
      }
      throw err;
    }
  }

  /** Grants a lease of `ttlSec` seconds (at least 2) and keeps it alive; see {@link EtcdLease} for `lost`. */
  async grantLease(ttlSec: number): Promise<EtcdLease> {
    if (!Number.isInteger(ttlSec) || ttlSec < 2) throw new InvalidArgumentError('ttlSec', `lease TTL must be an integer of at least 2 seconds, got ${ttlSec}`);
    const inner = this.#client.lease(ttlSec, { autoKeepAlive: true });
    inner.on('lost', () => undefined);
    const sentAt = performance.now();
    let id: string;
    try {
      id = await this.bounded(`grant of a ${ttlSec} s lease`, () => inner.grant());
    } catch (err) {
      inner.release();
      throw err;
    }
    const lease = new EtcdLease(id, ttlSec, inner, sentAt, (what, call) => this.bounded(what, call));
    this.#leases.add(lease);
    lease.lost.addEventListener('abort', () => this.#leases.delete(lease), { once: true });
    return lease;
  }

  /**
   * Takes cluster lock `name` (etcd's mutex recipe: a waiter key under the lock prefix
   * attached to a lease, the oldest waiter holds it), waiting at most `timeoutMs`.
   * Throws `LockTimeoutError` when not acquired in time (its waiter key is removed). Without
   * `lease`, the lock takes its own lease (TTL `lockTtlSec`) and revokes it on release.
   * The returned lock's `lost` signal fires when the lease is lost: the lock is then free for
   * others.
   */
  async lock(name: string, options: { timeoutMs: number; lease?: Lease }): Promise<EtcdClusterLock> {
    checkEtcdKey('name', name);
    if (name.includes('/')) throw new InvalidArgumentError('name', `lock name '${name}' must not contain '/'`);
    const timeoutMs = positive('timeoutMs', options?.timeoutMs);
    const own = options.lease ? undefined : await this.grantLease(this.#lockTtlSec);
    const lease = options.lease ?? own!;
    try {
      const key = await acquireEtcdLock(this, `${this.#lockPrefix}${name}/`, lease, name, timeoutMs);
      return new EtcdClusterLock(name, key, lease, this, own);
    } catch (err) {
      if (own) await own.revoke().catch(() => undefined);
      throw err;
    }
  }

  /** Stops watches and keep-alives (leases are left to expire) and closes the connections. */
  async close(): Promise<void> {
    for (const stop of [...this.#watches]) await stop();
    for (const lease of [...this.#leases]) lease.release();
    this.#client.close();
  }
}

/** A held etcd lock; see {@link EtcdClusterStore.lock}. */
export class EtcdClusterLock implements ClusterLock {
  /** @internal */
  constructor(
    readonly name: string,
    /** The waiter key that holds the lock. */
    readonly key: string,
    private readonly lease: Lease,
    private readonly store: EtcdClusterStore,
    private readonly ownLease: EtcdLease | undefined,
  ) {}

  /** Fires when the lease under the lock is lost: the lock no longer protects its holder. */
  get lost(): AbortSignal {
    return this.lease.lost;
  }

  /** Releases the lock (deletes its waiter key; revokes the lock's own lease). */
  async release(): Promise<void> {
    if (this.ownLease) await this.ownLease.revoke();
    else await this.store.delete(this.key);
  }
}

function toEntry(kv: IKeyValue): KvEntry {
  return { key: kv.key.toString(), value: new Uint8Array(kv.value), revision: kv.mod_revision };
}

function toBuffer(value: Uint8Array): Buffer {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('value', 'value must be a Uint8Array');
  return Buffer.from(value);
}

function positive(argument: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(argument, `${argument} must be a positive number, got ${String(n)}`);
  return n;
}

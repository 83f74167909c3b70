/**
 * Cluster-store and HA contracts. The local config store (`LocalConfigStore`) serves a single
 * node; `plugin-cluster-etcd` implements {@link ClusterStore} on etcd so every node shares
 * configs, and {@link HaManager} on top of it.
 *
 * @packageDocumentation
 */

/** A key's value with its revision (monotonic per key space). */
export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision of the last change; pass it to {@link ClusterStore.compareAndSet}. */
  readonly revision: string;
}

/** A change seen by {@link ClusterStore.watch}. */
export interface KvWatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value?: Uint8Array;
  readonly revision: string;
}

/** A lease: keys attached to it vanish when it is not kept alive (node death). */
export interface Lease {
  readonly id: string;
  /** Time to live in seconds. */
  readonly ttlSec: number;
  /** Stops keep-alive and revokes the lease (its keys are deleted). */
  revoke(): Promise<void>;
  /** Fires when the lease is lost (keep-alive failed). */
  readonly lost: AbortSignal;
}

/** A held distributed lock. */
export interface ClusterLock {
  readonly name: string;
  release(): Promise<void>;
}

/**
 * A cluster-wide key-value store with watch, compare-and-set, leases and locks.
 *
 * Errors: `UnavailableError` when the quorum is lost, `DigestMismatchError` when a
 * compare-and-set loses, `LockTimeoutError` when a lock is not acquired in time.
 */
export interface ClusterStore {
  get(key: string): Promise<KvEntry | null>;
  /** Every key under `prefix`, ordered by key. */
  list(prefix: string): Promise<KvEntry[]>;
  put(key: string, value: Uint8Array, options?: { lease?: Lease }): Promise<KvEntry>;
  /**
   * Writes only when the key's revision is `expectedRevision` (`null`: key must not exist).
   * Throws `DigestMismatchError` otherwise.
   */
  compareAndSet(key: string, value: Uint8Array, expectedRevision: string | null): Promise<KvEntry>;
  delete(key: string, options?: { expectedRevision?: string }): Promise<boolean>;
  /** Calls `onEvent` for each change under `prefix` until the returned function is called. */
  watch(prefix: string, onEvent: (event: KvWatchEvent) => void): Promise<() => Promise<void>>;
  grantLease(ttlSec: number): Promise<Lease>;
  /** Takes a named cluster lock, waiting at most `timeoutMs`. */
  lock(name: string, options: { timeoutMs: number; lease?: Lease }): Promise<ClusterLock>;
  close(): Promise<void>;
}

/** HA resource states, as Proxmox's ha-manager uses them. */
export type HaState = 'started' | 'stopped' | 'disabled' | 'ignored';

/** One HA-managed guest (`ha/resources.cfg`: `vm: 100` / `ct: 200`). */
export interface HaResource {
  /** `vm:100` or `ct:200`. */
  readonly sid: string;
  readonly state: HaState;
  readonly group?: string;
  readonly maxRestart: number;
  readonly maxRelocate: number;
}

/** Where the manager thinks a resource is and what it is doing. */
export interface HaResourceStatus {
  readonly sid: string;
  readonly node: string;
  /** `started`, `stopped`, `fence`, `recovery`, `migrate`, `error`... */
  readonly state: string;
}

/** The HA manager: elects a master through the cluster store, restarts and relocates guests. */
export interface HaManager {
  addResource(resource: HaResource): Promise<void>;
  removeResource(sid: string): Promise<void>;
  status(): Promise<HaResourceStatus[]>;
  /** Starts this node's LRM/CRM loops. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

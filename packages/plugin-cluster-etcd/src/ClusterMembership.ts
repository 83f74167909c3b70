import { AlreadyExistsError, ConflictError, DigestMismatchError, InvalidArgumentError, NotFoundError, type Lease } from '@corral/core';
import type { EtcdClusterStore } from './EtcdClusterStore.js';
import { checkEtcdKey } from './etcdKeys.js';

/** A node registered in a cluster (`<prefix><cluster>/nodes/<node>`). */
export interface ClusterNode {
  readonly node: string;
  /** Address the node gave when it joined, if any. */
  readonly address?: string;
  /** True while the node keeps its membership lease alive. */
  readonly online: boolean;
}

/** The cluster's vote count, as Proxmox's `pvecm status` shows it (one vote per node). */
export interface QuorumView {
  /** Registered nodes (each one vote). */
  readonly expectedVotes: number;
  /** Nodes whose membership lease is alive, sorted. */
  readonly onlineNodes: readonly string[];
  /** Registered nodes without a live lease, sorted. */
  readonly offlineNodes: readonly string[];
  /** More than half of the expected votes are online. */
  readonly quorate: boolean;
}

/** Options of {@link ClusterMembership}. */
export interface ClusterMembershipOptions {
  /** Cluster name (Proxmox's `cluster_name`): letters, digits, `-`, `_`, at most 64 characters. */
  readonly cluster: string;
  /** This node's name (a host name label). */
  readonly node: string;
  /** Address other nodes reach this one at (informational). */
  readonly address?: string;
  /** TTL in seconds of the lease that marks this node online. Default 5. */
  readonly leaseTtlSec?: number;
  /** Key prefix of all clusters. Default `corral/clusters/`. */
  readonly prefix?: string;
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const NODE_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Cluster membership on an {@link EtcdClusterStore}, a service the embedder calls: `create` a
 * cluster, `join` it (register the node and mark it online with a lease), `leave` it, list
 * `nodes` and read the `quorum` view.
 *
 * Keys under `<prefix><cluster>/`: `config` (the cluster exists), `nodes/<node>` (registered:
 * one vote each), `online/<node>` (attached to this node's lease: it vanishes when the node
 * dies or is cut off for longer than the TTL). Errors of the store pass through
 * (`UnavailableError` without quorum).
 */
export class ClusterMembership {
  readonly cluster: string;
  readonly node: string;
  readonly #store: EtcdClusterStore;
  readonly #base: string;
  readonly #address: string | undefined;
  readonly #ttlSec: number;
  #lease: Lease | undefined;

  /** Throws `InvalidArgumentError` for a bad cluster or node name or TTL. */
  constructor(store: EtcdClusterStore, options: ClusterMembershipOptions) {
    if (!CLUSTER_NAME.test(options?.cluster ?? '')) throw new InvalidArgumentError('cluster', `cluster name '${options?.cluster}' is invalid: letters, digits, '-' and '_', at most 64`);
    if (!NODE_NAME.test(options.node ?? '')) throw new InvalidArgumentError('node', `node name '${options.node}' is not a host name label`);
    const ttl = options.leaseTtlSec ?? 5;
    if (!Number.isInteger(ttl) || ttl < 2) throw new InvalidArgumentError('leaseTtlSec', `leaseTtlSec must be an integer of at least 2, got ${ttl}`);
    this.#store = store;
    this.cluster = options.cluster;
    this.node = options.node;
    this.#address = options.address;
    this.#ttlSec = ttl;
    this.#base = `${checkEtcdKey('prefix', options.prefix ?? 'corral/clusters/')}${options.cluster}/`;
  }

  /** The lease that keeps this node online; its `lost` fires when the node dropped out. Undefined before `join`. */
  get lease(): Lease | undefined {
    return this.#lease;
  }

  /**
   * Creates the cluster and joins this node as its first member. Throws `AlreadyExistsError`
   * when a cluster of that name exists.
   */
  async create(): Promise<Lease> {
    const config = JSON.stringify({ cluster: this.cluster, createdBy: this.node });
    try {
      await this.#store.compareAndSet(`${this.#base}config`, new TextEncoder().encode(config), null);
    } catch (err) {
      if (err instanceof DigestMismatchError) throw new AlreadyExistsError('cluster', this.cluster);
      throw err;
    }
    return this.join();
  }

  /**
   * Registers this node (one vote) and marks it online with a lease of `leaseTtlSec`.
   * Throws `NotFoundError` when the cluster does not exist, `ConflictError` when a node of
   * this name is online already (another process holds its lease). On failure nothing stays
   * online.
   */
  async join(): Promise<Lease> {
    if (this.#lease && !this.#lease.lost.aborted) return this.#lease;
    if (!(await this.#store.get(`${this.#base}config`))) throw new NotFoundError('cluster', this.cluster);
    const info = JSON.stringify({ node: this.node, ...(this.#address ? { address: this.#address } : {}) });
    const lease = await this.#store.grantLease(this.#ttlSec);
    try {
      await this.#store.compareAndSet(`${this.#base}online/${this.node}`, new TextEncoder().encode(lease.id), null, { lease });
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      if (err instanceof DigestMismatchError) throw new ConflictError(`node '${this.node}' is already online in cluster '${this.cluster}'`, { cause: err });
      throw err;
    }
    try {
      await this.#store.put(`${this.#base}nodes/${this.node}`, new TextEncoder().encode(info));
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    }
    this.#lease = lease;
    return lease;
  }

  /** Takes this node out of the cluster: offline, unregistered (its vote removed). */
  async leave(): Promise<void> {
    await this.#store.delete(`${this.#base}online/${this.node}`);
    await this.#store.delete(`${this.#base}nodes/${this.node}`);
    const lease = this.#lease;
    this.#lease = undefined;
    await lease?.revoke();
  }

  /** Registered nodes, sorted by name, with whether each is online. */
  async nodes(): Promise<ClusterNode[]> {
    const [registered, online] = await Promise.all([this.#store.list(`${this.#base}nodes/`), this.#store.list(`${this.#base}online/`)]);
    const up = new Set(online.map((e) => e.key.slice(`${this.#base}online/`.length)));
    return registered.map((e) => {
      const node = e.key.slice(`${this.#base}nodes/`.length);
      const info = JSON.parse(new TextDecoder().decode(e.value)) as { address?: string };
      return { node, ...(info.address ? { address: info.address } : {}), online: up.has(node) };
    });
  }

  /** The vote count: expected (registered), online, offline, and whether a majority is online. */
  async quorum(): Promise<QuorumView> {
    const nodes = await this.nodes();
    const onlineNodes = nodes.filter((n) => n.online).map((n) => n.node);
    const offlineNodes = nodes.filter((n) => !n.online).map((n) => n.node);
    return { expectedVotes: nodes.length, onlineNodes, offlineNodes, quorate: onlineNodes.length * 2 > nodes.length };
  }
}

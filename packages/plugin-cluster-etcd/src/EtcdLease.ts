import { LockLostError, type Lease } from '@corral/core';
import type { Lease as Etcd3Lease } from 'etcd3';
import { performance } from 'node:perf_hooks';

/**
 * A granted etcd lease kept alive by the client (keep-alive every third of the TTL).
 *
 * `lost` fires (reason: a `LockLostError` named `lease:<id>`) at the latest when the lease
 * could have expired on the server: `ttlSec` after the last keep-alive request the server
 * acknowledged was sent, so a holder never believes in a lease etcd already dropped. It also
 * fires when etcd answers that the lease is gone, and on {@link EtcdLease.revoke}. After
 * `lost`, keys attached to the lease must be taken as deleted.
 */
export class EtcdLease implements Lease {
  readonly #controller = new AbortController();
  readonly #sent: number[] = [];
  #deadline: NodeJS.Timeout | undefined;

  /**
   * @param id lease id (decimal string, as etcd prints it).
   * @param ttlSec time to live in seconds.
   * @param inner the etcd3 lease, already granted and keeping itself alive.
   * @param grantSentAt `performance.now()` taken before the grant request was sent.
   * @param bounded runs an etcd call under the store's time bound.
   */
  constructor(
    readonly id: string,
    readonly ttlSec: number,
    private readonly inner: Etcd3Lease,
    grantSentAt: number,
    private readonly bounded: (what: string, call: () => Promise<void>) => Promise<void>,
  ) {
    this.#arm(grantSentAt);
    inner.on('keepaliveEstablished', () => this.#sent.splice(0));
    inner.on('keepaliveFired', () => this.#sent.push(performance.now()));
    inner.on('keepaliveSucceeded', () => {
      const sentAt = this.#sent.shift();
      if (sentAt !== undefined) this.#arm(sentAt);
    });
    inner.on('lost', (err: Error) => this.#lose(`etcd reports it lost: ${err.message}`));
  }

  /** Fires when the lease is lost; see the class description for when exactly. */
  get lost(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Stops keep-alive and revokes the lease (its keys are deleted); `lost` fires. When etcd
   * cannot be reached within the store's bound the lease is left to expire after its TTL and
   * the `UnavailableError` is thrown.
   */
  async revoke(): Promise<void> {
    this.#lose('revoked');
    await this.bounded(`revoke of lease ${this.id}`, () => this.inner.revoke());
  }

  /** Stops keep-alive without revoking (used by `close`); `lost` fires. */
  release(): void {
    this.#lose('store closed');
    this.inner.release();
  }

  #arm(sentAt: number): void {
    if (this.#controller.signal.aborted) return;
    clearTimeout(this.#deadline);
    const left = Math.max(0, sentAt + this.ttlSec * 1000 - performance.now());
    this.#deadline = setTimeout(() => this.#lose(`no keep-alive acknowledged within its ${this.ttlSec} s TTL`), left);
  }

  #lose(why: string): void {
    clearTimeout(this.#deadline);
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(new LockLostError(`lease:${this.id}`, why));
    this.inner.release();
  }
}

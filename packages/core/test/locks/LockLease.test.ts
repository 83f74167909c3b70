import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockLostError } from '../../src/errors.js';
import { LocalLockManager } from '../../src/locks/LocalLockManager.js';
import { LockManagerBase, type LockLease, type LockOptions } from '../../src/locks/LockManager.js';
import { createLease } from '../../src/locks/lockArgs.js';

/** A lock manager whose leases expire after `ttlMs`, as a cluster lease that is not renewed. */
class ExpiringLockManager extends LockManagerBase {
  readonly #inner = new LocalLockManager();
  constructor(private readonly ttlMs: number) {
    super();
  }
  async acquire(name: string, options?: LockOptions): Promise<LockLease> {
    const inner = await this.#inner.acquire(name, options);
    const controller = createLease(name, inner.mode, () => inner.release());
    setTimeout(() => controller.markLost('the lease expired'), this.ttlMs).unref();
    return controller.lease;
  }
}

test('a lost lease aborts its signal with LockLostError, and withLock fails even when fn returns', async (t) => {
  const locks = new ExpiringLockManager(20);
  let seen: unknown;
  const err = await t.throwsAsync(
    locks.withLock('guest:100', async (lease) => {
      await sleep(60);
      seen = lease.lost.reason;
      return 'finished unprotected';
    }),
    { instanceOf: LockLostError },
  );
  t.is(seen, err);
  t.regex(err!.message, /guest:100.*expired/);
});

test('a lease released in time is never marked lost', async (t) => {
  const locks = new ExpiringLockManager(20);
  const lease = await locks.acquire('guest:101');
  await lease.release();
  await sleep(40);
  t.false(lease.lost.aborted);
  t.is(await locks.withLock('guest:101', () => 'ok'), 'ok');
});

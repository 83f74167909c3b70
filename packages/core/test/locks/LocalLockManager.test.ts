import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, InvalidArgumentError, LockLostError, LockTimeoutError } from '../../src/errors.js';
import { LocalLockManager } from '../../src/locks/LocalLockManager.js';

test('grants in request order (FIFO) and one exclusive holder at a time', async (t) => {
  const locks = new LocalLockManager();
  const order: number[] = [];
  let inside = 0;
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      locks.withLock('guest:100', async () => {
        inside++;
        t.is(inside, 1);
        order.push(i);
        await sleep(1);
        inside--;
      }),
    ),
  );
  t.deepEqual(
    order,
    Array.from({ length: 20 }, (_, i) => i),
  );
  t.false(locks.isLocked('guest:100'));
});

test('different names do not block each other', async (t) => {
  const locks = new LocalLockManager();
  const a = await locks.acquire('guest:100');
  // The same name is taken (control), another name is free while it is.
  await t.throwsAsync(locks.acquire('guest:100', { timeoutMs: 0 }), { instanceOf: LockTimeoutError });
  const b = await locks.acquire('guest:101', { timeoutMs: 0 });
  t.true(locks.isLocked('guest:100') && locks.isLocked('guest:101'), 'both held at once');
  await a.release();
  await b.release();
  t.false(locks.isLocked('guest:100'));
  t.false(locks.isLocked('guest:101'));
});

test('shared holders coexist; an exclusive request waits for all of them and blocks later shared requests (FIFO, no writer starvation)', async (t) => {
  const locks = new LocalLockManager();
  const s1 = await locks.acquire('tpl', { mode: 'shared' });
  const s2 = await locks.acquire('tpl', { mode: 'shared', timeoutMs: 0 });
  t.is(s1.mode, 'shared');
  t.is(s2.mode, 'shared');
  await t.throwsAsync(locks.acquire('tpl', { timeoutMs: 0 }), { instanceOf: LockTimeoutError });
  const events: string[] = [];
  const writer = locks.acquire('tpl', { timeoutMs: 5_000 }).then((l) => (events.push('writer'), l));
  t.is(locks.waiting('tpl'), 1);
  // A shared request behind the queued writer waits for it, though only readers hold the lock.
  const lateReader = locks.acquire('tpl', { mode: 'shared', timeoutMs: 5_000 }).then((l) => (events.push('late reader'), l));
  t.is(locks.waiting('tpl'), 2, 'the late reader queues behind the writer');
  await s1.release();
  t.is(locks.waiting('tpl'), 2, 'the writer still waits for the second reader');
  events.push('last reader leaves');
  await s2.release();
  const w = await writer;
  t.is(w.mode, 'exclusive');
  t.is(locks.waiting('tpl'), 1, 'the late reader waits for the writer');
  events.push('writer leaves');
  await w.release();
  await (await lateReader).release();
  t.deepEqual(events, ['last reader leaves', 'writer', 'writer leaves', 'late reader']);
  t.false(locks.isLocked('tpl'));
});

test('consecutive shared waiters are granted together when the exclusive holder leaves', async (t) => {
  const locks = new LocalLockManager();
  const w = await locks.acquire('x');
  const events: string[] = [];
  const readers = Array.from({ length: 3 }, (_, i) => locks.acquire('x', { mode: 'shared', timeoutMs: 5_000 }).then((l) => (events.push(`reader ${i}`), l)));
  const writer2 = locks.acquire('x', { timeoutMs: 5_000 }).then((l) => (events.push('writer 2'), l));
  t.is(locks.waiting('x'), 4);
  events.push('writer 1 leaves');
  await w.release();
  // All three at once: the queue keeps only the second writer, and every reader holds.
  t.is(locks.waiting('x'), 1);
  const held = await Promise.all(readers);
  t.true(held.every((r) => r.mode === 'shared'));
  for (const r of held.slice(0, 2)) await r.release();
  t.is(locks.waiting('x'), 1, 'the second writer waits for the last reader');
  events.push('last reader leaves');
  await held[2]!.release();
  await (await writer2).release();
  t.deepEqual(events, ['writer 1 leaves', 'reader 0', 'reader 1', 'reader 2', 'last reader leaves', 'writer 2']);
  t.false(locks.isLocked('x'));
});

test('a waiter times out with LockTimeoutError naming the lock and the timeout; a timed-out writer lets the readers behind it in', async (t) => {
  const locks = new LocalLockManager();
  const lease = await locks.acquire('guest:100', { mode: 'shared' });
  const events: string[] = [];
  const t0 = performance.now();
  const writer = locks.acquire('guest:100', { timeoutMs: 50 }).catch((error: unknown) => {
    events.push('writer timed out');
    throw error;
  });
  const reader = locks.acquire('guest:100', { mode: 'shared', timeoutMs: 5_000 }).then((l) => (events.push('reader'), l));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(locks.waiting('guest:100'), 2, 'the reader queues behind the writer');
  t.deepEqual(events, []);
  const err = await t.throwsAsync(writer, { instanceOf: LockTimeoutError });
  t.true(performance.now() - t0 >= 45);
  t.is(err?.code, 'CORRAL_ERR_LOCK_TIMEOUT');
  t.is((err as LockTimeoutError).lockName, 'guest:100');
  t.is((err as LockTimeoutError).timeoutMs, 50);
  t.regex(err!.message, /guest:100.*50 ms/);
  const r = await reader;
  t.is(r.mode, 'shared');
  t.deepEqual([...events].sort(), ['reader', 'writer timed out'], 'the reader got in when the writer gave up, beside the first reader');
  t.true(locks.isLocked('guest:100'));
  await r.release();
  await lease.release();
  t.is(locks.waiting('guest:100'), 0);
  t.false(locks.isLocked('guest:100'));
});

test('abort stops a wait with AbortedError; an aborted signal fails at once', async (t) => {
  const locks = new LocalLockManager();
  const lease = await locks.acquire('guest:100');
  const ac = new AbortController();
  const waiting = locks.acquire('guest:100', { signal: ac.signal, timeoutMs: 5_000 });
  setTimeout(() => ac.abort(new Error('user cancelled')), 10);
  const err = await t.throwsAsync(waiting, { instanceOf: AbortedError });
  t.is(err?.code, 'CORRAL_ERR_ABORTED');
  t.is((err?.cause as Error).message, 'user cancelled');
  t.is(locks.waiting('guest:100'), 0);
  await t.throwsAsync(locks.acquire('guest:101', { signal: AbortSignal.abort() }), { instanceOf: AbortedError });
  await lease.release();
  t.false(locks.isLocked('guest:100'));
});

test('withLock passes the lease, releases when fn throws; release is idempotent; local leases are never lost', async (t) => {
  const locks = new LocalLockManager();
  await t.throwsAsync(
    locks.withLock('x', () => {
      t.true(locks.isLocked('x'), 'held while fn runs');
      return Promise.reject(new Error('boom'));
    }),
    { message: 'boom' },
  );
  t.false(locks.isLocked('x'), 'released after fn threw');
  t.deepEqual(await locks.withLock('x', (lease) => ({ name: lease.name, mode: lease.mode, lost: lease.lost.aborted })), { name: 'x', mode: 'exclusive', lost: false });
  const first = await locks.acquire('x');
  const waiter = locks.acquire('x');
  await first.release();
  await first.release(); // must not release the waiter's hold
  const second = await waiter;
  await t.throwsAsync(locks.acquire('x', { timeoutMs: 0 }), { instanceOf: LockTimeoutError }, 'the second release did not free the next holder');
  t.false(second.lost.aborted);
  await second.release();
  t.false(locks.isLocked('x'));
});

test('bad arguments are InvalidArgumentError', async (t) => {
  const locks = new LocalLockManager();
  const cases: Array<[string, Parameters<LocalLockManager['acquire']>[1], string]> = [
    ['', {}, 'name'],
    ['x', { timeoutMs: -1 }, 'timeoutMs'],
    ['x', { timeoutMs: Number.NaN }, 'timeoutMs'],
    ['x', { mode: 'read' as never }, 'mode'],
  ];
  for (const [name, options, argument] of cases) {
    const err = await t.throwsAsync(locks.acquire(name, options), { instanceOf: InvalidArgumentError });
    t.is((err as InvalidArgumentError).argument, argument);
  }
  t.false(locks.isLocked('x'));
});

test('LockLostError carries the lock name and the reason', (t) => {
  const err = new LockLostError('guest:100', 'the cluster lease expired');
  t.is(err.code, 'CORRAL_ERR_LOCK_LOST');
  t.is(err.lockName, 'guest:100');
  t.regex(err.message, /guest:100.*lease expired/);
});

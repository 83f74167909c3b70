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
  const b = await locks.acquire('guest:101', { timeoutMs: 0 });
  await a.release();
  await b.release();
  t.false(locks.isLocked('guest:100'));
});

test('shared holders coexist; an exclusive request waits for all of them and blocks later shared requests (FIFO, no writer starvation)', async (t) => {
  const locks = new LocalLockManager();
  const s1 = await locks.acquire('tpl', { mode: 'shared' });
  const s2 = await locks.acquire('tpl', { mode: 'shared', timeoutMs: 0 });
  t.is(s1.mode, 'shared');
  await t.throwsAsync(locks.acquire('tpl', { timeoutMs: 0 }), { instanceOf: LockTimeoutError });
  const events: string[] = [];
  const writer = locks.acquire('tpl', { timeoutMs: 1_000 }).then((l) => (events.push('writer'), l));
  await sleep(5);
  // A shared request behind the queued writer waits for it.
  const lateReader = locks.acquire('tpl', { mode: 'shared', timeoutMs: 1_000 }).then((l) => (events.push('late reader'), l));
  await sleep(5);
  t.deepEqual(events, []);
  await s1.release();
  await sleep(5);
  t.deepEqual(events, [], 'the writer still waits for the second reader');
  await s2.release();
  const w = await writer;
  await sleep(5);
  t.deepEqual(events, ['writer']);
  await w.release();
  await (await lateReader).release();
  t.deepEqual(events, ['writer', 'late reader']);
  t.false(locks.isLocked('tpl'));
});

test('consecutive shared waiters are granted together when the exclusive holder leaves', async (t) => {
  const locks = new LocalLockManager();
  const w = await locks.acquire('x');
  const readers = Array.from({ length: 3 }, () => locks.acquire('x', { mode: 'shared', timeoutMs: 1_000 }));
  const writer2 = locks.acquire('x', { timeoutMs: 1_000 });
  await w.release();
  const held = await Promise.all(readers);
  t.is(locks.waiting('x'), 1);
  for (const r of held) await r.release();
  await (await writer2).release();
  t.false(locks.isLocked('x'));
});

test('a waiter times out with LockTimeoutError naming the lock and the timeout; a timed-out writer lets the readers behind it in', async (t) => {
  const locks = new LocalLockManager();
  const lease = await locks.acquire('guest:100', { mode: 'shared' });
  const t0 = performance.now();
  const writer = locks.acquire('guest:100', { timeoutMs: 50 });
  const reader = locks.acquire('guest:100', { mode: 'shared', timeoutMs: 1_000 });
  const err = await t.throwsAsync(writer, { instanceOf: LockTimeoutError });
  t.true(performance.now() - t0 >= 45);
  t.is(err?.code, 'CORRAL_ERR_LOCK_TIMEOUT');
  t.is((err as LockTimeoutError).lockName, 'guest:100');
  t.is((err as LockTimeoutError).timeoutMs, 50);
  t.regex(err!.message, /guest:100.*50 ms/);
  await (await reader).release();
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
    locks.withLock('x', () => Promise.reject(new Error('boom'))),
    { message: 'boom' },
  );
  t.false(locks.isLocked('x'));
  t.is(await locks.withLock('x', (lease) => (lease.lost.aborted ? 'lost' : lease.name)), 'x');
  const first = await locks.acquire('x');
  const waiter = locks.acquire('x');
  await first.release();
  await first.release(); // must not release the waiter's hold
  const second = await waiter;
  t.true(locks.isLocked('x'));
  t.false(second.lost.aborted);
  await second.release();
  t.false(locks.isLocked('x'));
});

test('bad arguments are InvalidArgumentError', async (t) => {
  const locks = new LocalLockManager();
  await t.throwsAsync(locks.acquire(''), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(locks.acquire('x', { timeoutMs: -1 }), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(locks.acquire('x', { timeoutMs: Number.NaN }), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(locks.acquire('x', { mode: 'read' as never }), { instanceOf: InvalidArgumentError, message: /mode/ });
});

test('LockLostError carries the lock name and the reason', (t) => {
  const err = new LockLostError('guest:100', 'the cluster lease expired');
  t.is(err.code, 'CORRAL_ERR_LOCK_LOST');
  t.is(err.lockName, 'guest:100');
  t.regex(err.message, /guest:100.*lease expired/);
});

import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, InvalidArgumentError, LockTimeoutError } from '../../src/errors.js';
import { LocalLockManager } from '../../src/locks/LocalLockManager.js';
import { HostLockManager } from '../../src/locks/HostLockManager.js';
import { acquireHostLock } from '../../src/locks/acquireHostLock.js';
import { spawnChild } from '../config/fixtures/spawnChild.js';

test('grants in request order (FIFO) and one holder at a time', async (t) => {
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
  t.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
  t.false(locks.isLocked('guest:100'));
});

test('different names do not block each other', async (t) => {
  const locks = new LocalLockManager();
  const r1 = await locks.acquire('guest:100');
  const r2 = await locks.acquire('guest:101', { timeoutMs: 0 });
  await r1();
  await r2();
  t.pass();
});

test('a waiter times out with LockTimeoutError naming the lock and the timeout', async (t) => {
  const locks = new LocalLockManager();
  const release = await locks.acquire('guest:100');
  const t0 = performance.now();
  const err = await t.throwsAsync(locks.acquire('guest:100', { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  t.true(performance.now() - t0 >= 45);
  t.is(err?.code, 'CORRAL_ERR_LOCK_TIMEOUT');
  t.is((err as LockTimeoutError).lockName, 'guest:100');
  t.is((err as LockTimeoutError).timeoutMs, 50);
  t.regex(err!.message, /guest:100.*50 ms/);
  t.is(locks.waiting('guest:100'), 0);
  // timeoutMs 0: try once
  await t.throwsAsync(locks.acquire('guest:100', { timeoutMs: 0 }), { instanceOf: LockTimeoutError });
  // The timed-out waiter never gets the lock later: the next one does.
  const next = locks.acquire('guest:100', { timeoutMs: 1000 });
  await release();
  await (await next)();
  t.false(locks.isLocked('guest:100'));
});

test('abort stops a wait with AbortedError; an aborted signal fails at once', async (t) => {
  const locks = new LocalLockManager();
  const release = await locks.acquire('guest:100');
  const ac = new AbortController();
  const waiting = locks.acquire('guest:100', { signal: ac.signal, timeoutMs: 5_000 });
  setTimeout(() => ac.abort(new Error('user cancelled')), 10);
  const err = await t.throwsAsync(waiting, { instanceOf: AbortedError });
  t.is(err?.code, 'CORRAL_ERR_ABORTED');
  t.is((err?.cause as Error).message, 'user cancelled');
  t.is(locks.waiting('guest:100'), 0);
  await t.throwsAsync(locks.acquire('guest:101', { signal: AbortSignal.abort() }), { instanceOf: AbortedError });
  await release();
  t.false(locks.isLocked('guest:100'));
});

test('withLock releases when fn throws; release is idempotent', async (t) => {
  const locks = new LocalLockManager();
  await t.throwsAsync(locks.withLock('x', () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.false(locks.isLocked('x'));
  const release = await locks.acquire('x');
  const waiter = locks.acquire('x');
  await release();
  await release(); // must not release the waiter's hold
  const r2 = await waiter;
  t.true(locks.isLocked('x'));
  await r2();
  t.false(locks.isLocked('x'));
});

test('bad arguments are InvalidArgumentError', async (t) => {
  const locks = new LocalLockManager();
  await t.throwsAsync(locks.acquire(''), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(locks.acquire('x', { timeoutMs: -1 }), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(locks.acquire('x', { timeoutMs: Number.NaN }), { instanceOf: InvalidArgumentError });
});

test('HostLockManager excludes within a namespace and not across namespaces', async (t) => {
  const ns = `test-${process.pid}-${Date.now()}`;
  const a = new HostLockManager({ namespace: ns });
  const b = new HostLockManager({ namespace: ns });
  const c = new HostLockManager({ namespace: `${ns}-other` });
  const release = await a.acquire('guest:100');
  const err = await t.throwsAsync(b.acquire('guest:100', { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  t.is((err as LockTimeoutError).lockName, 'guest:100');
  t.is((err as LockTimeoutError).timeoutMs, 50);
  await (await c.acquire('guest:100', { timeoutMs: 0 }))();
  const waiting = b.acquire('guest:100', { timeoutMs: 2_000 });
  await release();
  await (await waiting)();
  t.pass();
});

test('a host lock held by a process that is SIGKILLed is free at once (no stale lock)', async (t) => {
  const name = `corral-test-holder-${process.pid}-${Date.now()}`;
  const child = spawnChild(new URL('./fixtures/hostLockHolderChild.js', import.meta.url), [name]);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  await t.throwsAsync(acquireHostLock(name, { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  const ac = new AbortController();
  const aborted = acquireHostLock(name, { signal: ac.signal });
  ac.abort();
  await t.throwsAsync(aborted, { instanceOf: AbortedError });
  child.kill();
  await child.exited;
  const t0 = performance.now();
  const release = await acquireHostLock(name, { timeoutMs: 1_000 });
  t.log(`lock free ${(performance.now() - t0).toFixed(1)} ms after the holder's death`);
  await release();
});

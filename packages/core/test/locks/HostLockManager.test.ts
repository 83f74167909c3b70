import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, LockTimeoutError } from '../../src/errors.js';
import { HostLockManager } from '../../src/locks/HostLockManager.js';
import { acquireHostLock } from '../../src/locks/acquireHostLock.js';
import { spawnChild } from '../../src/testing/spawnChild.js';

const holder = new URL('./fixtures/hostLockHolderChild.js', import.meta.url);
const unique = (what: string): string => `corral-test-${what}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;

test('HostLockManager excludes within a namespace and not across namespaces', async (t) => {
  const ns = unique('ns');
  const a = new HostLockManager({ namespace: ns });
  const b = new HostLockManager({ namespace: ns });
  const c = new HostLockManager({ namespace: `${ns}-other` });
  const lease = await a.acquire('guest:100');
  const err = await t.throwsAsync(b.acquire('guest:100', { timeoutMs: 50 }), { instanceOf: LockTimeoutError });
  t.is((err as LockTimeoutError).lockName, 'guest:100');
  t.is((err as LockTimeoutError).timeoutMs, 50);
  await (await c.acquire('guest:100', { timeoutMs: 0 })).release();
  const waiting = b.acquire('guest:100', { timeoutMs: 2_000 });
  await lease.release();
  await (await waiting).release();
  t.pass();
});

test('a host lock held by a process that is SIGKILLed is free at once (no stale lock)', async (t) => {
  const name = unique('holder');
  const child = spawnChild(holder, [name]);
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
  const lease = await acquireHostLock(name, { timeoutMs: 1_000 });
  t.log(`lock free ${(performance.now() - t0).toFixed(1)} ms after the holder's death`);
  await lease.release();
});

test('shared across processes: two processes hold a lock shared together; an exclusive request waits until both are gone', async (t) => {
  const name = unique('shared');
  const readers = [spawnChild(holder, [name, '', 'shared']), spawnChild(holder, [name, '', 'shared'])];
  t.teardown(() => readers.forEach((r) => r.kill()));
  await Promise.all(readers.map((r) => r.waitFor(/^locked$/)));
  // A third shared holder gets in at once; an exclusive one does not.
  await (await acquireHostLock(name, { mode: 'shared', timeoutMs: 1_000 })).release();
  await t.throwsAsync(acquireHostLock(name, { timeoutMs: 100 }), { instanceOf: LockTimeoutError });
  let granted = false;
  const writer = acquireHostLock(name, { timeoutMs: 5_000 }).then((l) => ((granted = true), l));
  readers[0]!.kill();
  await readers[0]!.exited;
  await sleep(100);
  t.false(granted, 'one shared holder is still alive');
  readers[1]!.kill();
  await readers[1]!.exited;
  const lease = await writer;
  t.is(lease.mode, 'exclusive');
  // While it is held exclusively, a shared request from another process waits.
  const late = spawnChild(holder, [name, '', 'shared']);
  t.teardown(() => late.kill());
  await t.throwsAsync(late.waitFor(/^locked$/, 300));
  await lease.release();
  await late.waitFor(/^locked$/, 5_000);
});

test('a shared holder in another process makes an exclusive HostLockManager wait and time out with the whole timeout', async (t) => {
  const ns = unique('mgr');
  const child = spawnChild(holder, ['guest:300', ns, 'shared']);
  t.teardown(() => child.kill());
  await child.waitFor(/^locked$/);
  const locks = new HostLockManager({ namespace: ns });
  await (await locks.acquire('guest:300', { mode: 'shared', timeoutMs: 500 })).release();
  const err = await t.throwsAsync(locks.acquire('guest:300', { timeoutMs: 150 }), { instanceOf: LockTimeoutError });
  t.is((err as LockTimeoutError).timeoutMs, 150);
});

test('a process that connects to a lock socket cannot keep its release (or a shared acquire) waiting', async (t) => {
  const { connect } = await import('node:net');
  const { hostLockAddress } = await import('../../src/locks/acquireHostLock.js');
  const name = unique('connect');
  const lease = await acquireHostLock(name, { timeoutMs: 1_000 });
  const peer = connect(`\0${hostLockAddress(name)}`);
  peer.on('error', () => undefined);
  await new Promise<void>((resolve) => peer.once('close', () => resolve()).once('connect', () => undefined));
  const t0 = performance.now();
  await lease.release();
  t.true(performance.now() - t0 < 500, 'release did not wait for the peer');
  const shared = await acquireHostLock(name, { mode: 'shared', timeoutMs: 1_000 });
  await shared.release();
  peer.destroy();
});

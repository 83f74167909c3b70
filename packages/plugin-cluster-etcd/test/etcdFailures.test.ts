import test, { type ExecutionContext } from 'ava';
import { ErrorCodes, LockLostError, UnavailableError, type KvWatchEvent } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { performance } from 'node:perf_hooks';
import { EtcdClusterStore } from '../src/index.js';
import { CutoffProxy } from './support/CutoffProxy.js';
import { EtcdTestCluster } from './support/EtcdTestCluster.js';

const etcdTest = realTest(test, hasProgram('etcd'), 'etcd is not installed (Debian package etcd-server)');
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function storeOn(t: ExecutionContext, endpoints: string[], operationTimeoutMs = 3000): EtcdClusterStore {
  const store = new EtcdClusterStore({ endpoints, operationTimeoutMs });
  t.teardown(() => store.close());
  return store;
}

/** Retries `call` while etcd is still coming back (UnavailableError); each try is bounded by the store. */
async function once<T>(t: ExecutionContext, call: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      const v = await call();
      t.log(`answered after ${tries} tries`);
      return v;
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
    }
    await new Promise((r) => setTimeout(r, 100)); // a pause between tries, not a bound
  }
}

etcdTest.serial('a watch resumes when the member it streams from is killed: every change in order, none twice', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const watching = storeOn(t, cluster.endpoints);
  const writer = storeOn(t, cluster.endpoints);
  const seen: KvWatchEvent[] = [];
  let notify = () => {};
  let reconnects = 0;
  const stop = await watching.watch(
    'w/',
    (e) => {
      seen.push(e);
      notify();
    },
    { onReconnect: () => reconnects++ },
  );
  t.teardown(stop);
  const expected: string[] = [];
  // Kill each member in turn: whichever one the watch streams from dies once.
  for (const victim of [0, 1, 2]) {
    await cluster.kill(victim);
    await cluster.waitHealthy(); // the other two have a leader (a new one if the victim led)
    for (let j = 0; j < 5; j++) {
      const e = await writer.put(`w/m${victim}`, bytes(`${victim}.${j}`));
      expected.push(`${e.key}=${victim}.${j}@${e.revision}`);
    }
    await cluster.startMember(victim);
    await cluster.waitHealthy();
  }
  await new Promise<void>((resolve) => {
    notify = () => seen.length >= expected.length && resolve();
    notify();
  });
  t.deepEqual(seen.map((e) => `${e.key}=${text(e.value)}@${e.revision}`), expected);
  t.true(reconnects >= 1, 'the watch stream broke and was re-established');
  t.log(`watch re-established ${reconnects} time(s)`);
});

etcdTest.serial('lost fires when every member freezes (SIGSTOP), and the store works again after SIGCONT', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const store = storeOn(t, cluster.endpoints);
  const lease = await store.grantLease(2);
  await store.put('n/pve1', bytes('online'), { lease });
  for (const i of [0, 1, 2]) cluster.freeze(i);
  await new Promise<void>((resolve) => lease.lost.addEventListener('abort', () => resolve(), { once: true }));
  t.true(lease.lost.reason instanceof LockLostError);
  t.regex((lease.lost.reason as LockLostError).message, /lease:\d+.*keep-alive/);
  for (const i of [0, 1, 2]) cluster.thaw(i);
  await cluster.waitHealthy();
  const again = await once(t, () => store.grantLease(2));
  t.false(again.lost.aborted);
  await again.revoke();
});

etcdTest.serial('a lock is freed when its holder is cut off: the holder sees lost before the other client gets the lock', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const proxies = await Promise.all(cluster.endpoints.map((e) => CutoffProxy.start(e)));
  t.teardown(() => Promise.all(proxies.map((p) => p.close())));
  const holder = storeOn(t, proxies.map((p) => p.url));
  const other = storeOn(t, cluster.endpoints);
  const lease = await holder.grantLease(2);
  const held = await holder.lock('guest-100', { timeoutMs: 3000, lease });
  const waiting = other.lock('guest-100', { timeoutMs: 60_000 });
  let got = false;
  void waiting.then(() => (got = true));
  await other.list('corral/locks/');
  t.false(got, 'the lock is exclusive while its holder is connected');
  for (const p of proxies) p.cut();
  const second = await waiting;
  t.true(held.lost.aborted, 'the cut-off holder knew it lost the lock before anyone else got it');
  t.true(held.lost.reason instanceof LockLostError);
  t.false(second.lost.aborted);
  await second.release();
});

etcdTest.serial('quorum loss (2 of 3 killed) gives UnavailableError naming the endpoints, never a hang; the store recovers when they return', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const store = storeOn(t, cluster.endpoints, 2000);
  await store.put('q/a', bytes('before'));
  const seen: KvWatchEvent[] = [];
  let notify = () => {};
  const stop = await store.watch('q/', (e) => {
    seen.push(e);
    notify();
  });
  t.teardown(stop);
  await cluster.kill(1);
  await cluster.kill(2);
  const started = performance.now();
  const err = await t.throwsAsync(store.get('q/a'), { instanceOf: UnavailableError });
  t.log(`get without quorum failed after ${Math.round(performance.now() - started)} ms`);
  t.is(err?.code, ErrorCodes.unavailable);
  t.true(err!.message.includes(cluster.endpoints[0]!), err!.message);
  await t.throwsAsync(store.put('q/b', bytes('x')), { instanceOf: UnavailableError });
  await t.throwsAsync(store.compareAndSet('q/a', bytes('x'), '1'), { instanceOf: UnavailableError });
  await t.throwsAsync(store.grantLease(2), { instanceOf: UnavailableError });
  await t.throwsAsync(store.lock('guest-100', { timeoutMs: 10_000 }), { instanceOf: UnavailableError });

  await cluster.startMember(1);
  await cluster.startMember(2);
  await cluster.waitHealthy();
  t.is(text((await once(t, () => store.get('q/a')))?.value), 'before');
  const after = await once(t, () => store.put('q/c', bytes('after')));
  // The watch made before the outage sees the first write after it.
  await new Promise<void>((resolve) => {
    notify = () => seen.some((e) => e.key === 'q/c') && resolve();
    notify();
  });
  t.deepEqual(seen.map((e) => `${e.key}@${e.revision}`), [`q/c@${after.revision}`]);
  const lock = await once(t, () => store.lock('guest-100', { timeoutMs: 10_000 }));
  await lock.release();
});

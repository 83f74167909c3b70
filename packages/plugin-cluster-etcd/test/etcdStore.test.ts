import test from 'ava';
import { DigestMismatchError, ErrorCodes, InvalidArgumentError, LockTimeoutError, type KvEntry, type KvWatchEvent } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { EtcdClusterStore } from '../src/index.js';
import { EtcdTestCluster } from './support/EtcdTestCluster.js';

const etcdTest = realTest(test, hasProgram('etcd'), 'etcd is not installed (Debian package etcd-server)');
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** A store on every member of `cluster`, closed at teardown. */
function storeOn(t: { teardown(fn: () => unknown): void }, cluster: EtcdTestCluster): EtcdClusterStore {
  const store = new EtcdClusterStore({ endpoints: cluster.endpoints, operationTimeoutMs: 3000 });
  t.teardown(() => store.close());
  return store;
}

test('bad options and keys are refused with coded errors before any call', (t) => {
  t.throws(() => new EtcdClusterStore({ endpoints: [] }), { instanceOf: InvalidArgumentError });
  t.throws(() => new EtcdClusterStore({ endpoints: ['127.0.0.1:2379'] }), { instanceOf: InvalidArgumentError, message: /127\.0\.0\.1:2379/ });
  const store = new EtcdClusterStore({ endpoints: ['http://127.0.0.1:9'] });
  t.teardown(() => store.close());
  return Promise.all([
    t.throwsAsync(store.get(''), { instanceOf: InvalidArgumentError }),
    t.throwsAsync(store.compareAndSet('k', bytes('v'), 'abc'), { instanceOf: InvalidArgumentError, message: /expectedRevision/ }),
    t.throwsAsync(store.grantLease(1), { instanceOf: InvalidArgumentError, message: /ttl|TTL/ }),
    t.throwsAsync(store.lock('a/b', { timeoutMs: 100 }), { instanceOf: InvalidArgumentError }),
  ]).then(() => undefined);
});

etcdTest.serial('get, put, list by prefix in key order, delete, against a real 3-member etcd', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const store = storeOn(t, cluster);
  t.is(await store.get('cfg/none'), null);
  const a = await store.put('cfg/b', bytes('2'));
  await store.put('cfg/a', bytes('1'));
  await store.put('cfgx/other', bytes('x'));
  const got = await store.get('cfg/b');
  t.is(text(got?.value), '2');
  t.is(got?.revision, a.revision);
  t.deepEqual((await store.list('cfg/')).map((e) => [e.key, text(e.value)]), [['cfg/a', '1'], ['cfg/b', '2']]);
  t.true(await store.delete('cfg/a'));
  t.false(await store.delete('cfg/a'));
  const b2 = await store.put('cfg/b', bytes('3'));
  await t.throwsAsync(store.delete('cfg/b', { expectedRevision: a.revision }), { instanceOf: DigestMismatchError });
  t.true(await store.delete('cfg/b', { expectedRevision: b2.revision }));
  t.deepEqual(await store.list('cfg/'), []);
});

etcdTest.serial('compare-and-set from two clients racing: exactly one wins, the other gets DigestMismatchError', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const one = storeOn(t, cluster);
  const two = storeOn(t, cluster);
  // Creation race: expectedRevision null means "must not exist".
  const created = await Promise.allSettled([one.compareAndSet('vmid/100', bytes('node1'), null), two.compareAndSet('vmid/100', bytes('node2'), null)]);
  t.is(created.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = created.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.true(lost.reason instanceof DigestMismatchError);
  t.is(lost.reason.code, ErrorCodes.digestMismatch);
  const winner = (created.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ revision: string; value: Uint8Array }>).value;
  t.is(text((await two.get('vmid/100'))?.value), text(winner.value));
  // Update race on the same read revision, 20 rounds.
  let rev = winner.revision;
  for (let round = 0; round < 20; round++) {
    const res = await Promise.allSettled([one.compareAndSet('vmid/100', bytes(`a${round}`), rev), two.compareAndSet('vmid/100', bytes(`b${round}`), rev)]);
    const ok = res.filter((r): r is PromiseFulfilledResult<KvEntry> => r.status === 'fulfilled');
    t.is(ok.length, 1, `round ${round}`);
    const bad = res.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    t.true(bad.reason instanceof DigestMismatchError);
    t.is((bad.reason as DigestMismatchError).actual, ok[0]!.value.revision);
    rev = ok[0]!.value.revision;
    t.is(text((await one.get('vmid/100'))?.value), text(ok[0]!.value.value));
  }
});

etcdTest.serial('watch sees every change under its prefix in order, with revisions', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const store = storeOn(t, cluster);
  const writer = storeOn(t, cluster);
  const seen: KvWatchEvent[] = [];
  let notify = () => {};
  const stop = await store.watch('w/', (e) => {
    seen.push(e);
    notify();
  });
  const expected: string[] = [];
  for (let i = 0; i < 30; i++) {
    const e = await writer.put(`w/k${i % 4}`, bytes(String(i)));
    expected.push(`put w/k${i % 4} ${i} ${e.revision}`);
    if (i % 7 === 6) {
      await writer.delete(`w/k${i % 4}`);
      expected.push(`delete w/k${i % 4}`);
    }
  }
  await writer.put('other/x', bytes('not watched'));
  await new Promise<void>((resolve) => {
    notify = () => seen.length >= expected.length && resolve();
    notify();
  });
  await stop();
  t.deepEqual(
    seen.map((e) => (e.type === 'put' ? `put ${e.key} ${text(e.value)} ${e.revision}` : `delete ${e.key}`)),
    expected,
  );
  const revs = seen.map((e) => BigInt(e.revision));
  t.true(revs.every((r, i) => i === 0 || r > revs[i - 1]!));
});

etcdTest.serial('a lock is exclusive across two clients; a waiter times out with LockTimeoutError, then gets it after release', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const one = storeOn(t, cluster);
  const two = storeOn(t, cluster);
  const held = await one.lock('guest-100', { timeoutMs: 2000 });
  const err = await t.throwsAsync(two.lock('guest-100', { timeoutMs: 300 }), { instanceOf: LockTimeoutError });
  t.is(err?.code, ErrorCodes.lockTimeout);
  t.is((await two.list('corral/locks/guest-100/')).length, 1, 'the timed-out waiter left no key behind');
  const waiting = two.lock('guest-100', { timeoutMs: 10_000 });
  let got = false;
  void waiting.then(() => (got = true));
  await two.list('corral/locks/'); // a round trip: the waiter is queued, not holding
  t.false(got);
  await held.release();
  const second = await waiting;
  t.is(second.name, 'guest-100');
  t.false(second.lost.aborted);
  await second.release();
  t.deepEqual(await one.list('corral/locks/guest-100/'), []);
});

etcdTest.serial('keys put with a lease vanish when it is revoked, and lost fires', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const store = storeOn(t, cluster);
  const lease = await store.grantLease(3);
  t.regex(lease.id, /^[0-9]+$/);
  await store.put('members/n1', bytes('up'), { lease });
  t.truthy(await store.get('members/n1'));
  await lease.revoke();
  t.true(lease.lost.aborted);
  t.is(await store.get('members/n1'), null);
});

etcdTest.serial('a watch from fromRevision replays the changes since then (resume after a restart); a compacted one is refused', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const store = storeOn(t, cluster);
  const first = await store.put('r/a', bytes('1'));
  const second = await store.put('r/a', bytes('2'));
  await store.delete('r/a');
  const seen: string[] = [];
  let notify = () => {};
  const stop = await store.watch(
    'r/',
    (e) => {
      seen.push(`${e.type} ${e.key} ${text(e.value)}`);
      notify();
    },
    { fromRevision: second.revision },
  );
  t.teardown(stop);
  await new Promise<void>((resolve) => {
    notify = () => seen.length >= 2 && resolve();
    notify();
  });
  t.deepEqual(seen, ['put r/a 2', 'delete r/a ']);
  await store.client.kv.compact({ revision: second.revision, physical: true });
  const err = await t.throwsAsync(store.watch('r/', () => t.fail('no event from a compacted revision'), { fromRevision: first.revision }), { instanceOf: InvalidArgumentError });
  t.regex(err!.message, /revision \d+ was compacted/);
});

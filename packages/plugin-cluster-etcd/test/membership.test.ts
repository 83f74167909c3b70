import test from 'ava';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { ClusterMembership, EtcdClusterStore } from '../src/index.js';
import { EtcdTestCluster } from './support/EtcdTestCluster.js';

const etcdTest = realTest(test, hasProgram('etcd'), 'etcd is not installed (Debian package etcd-server)');

test('bad cluster and node names are refused', (t) => {
  const store = new EtcdClusterStore({ endpoints: ['http://127.0.0.1:9'] });
  t.teardown(() => store.close());
  t.throws(() => new ClusterMembership(store, { cluster: 'bad name', node: 'n1' }), { instanceOf: InvalidArgumentError });
  t.throws(() => new ClusterMembership(store, { cluster: 'c', node: 'n_1' }), { instanceOf: InvalidArgumentError });
  t.throws(() => new ClusterMembership(store, { cluster: 'c', node: 'n1', leaseTtlSec: 1 }), { instanceOf: InvalidArgumentError });
});

etcdTest.serial('create, join, quorum, a dead node drops out with its lease, leave removes the vote', async (t) => {
  const cluster = await EtcdTestCluster.start(t);
  const stores = [0, 1, 2].map(() => {
    const s = new EtcdClusterStore({ endpoints: cluster.endpoints, operationTimeoutMs: 3000 });
    t.teardown(() => s.close());
    return s;
  });
  const [n1, n2, n3] = stores.map((s, i) => new ClusterMembership(s, { cluster: 'lab', node: `pve${i + 1}`, address: `10.0.0.${i + 1}`, leaseTtlSec: 2 }));
  await t.throwsAsync(n2!.join(), { instanceOf: NotFoundError, message: /lab/ });
  await n1!.create();
  await t.throwsAsync(new ClusterMembership(stores[1]!, { cluster: 'lab', node: 'pve9' }).create(), { instanceOf: AlreadyExistsError });
  await n2!.join();
  await n3!.join();
  // The same node name cannot be online twice.
  await t.throwsAsync(new ClusterMembership(stores[0]!, { cluster: 'lab', node: 'pve3' }).join(), { instanceOf: ConflictError });
  t.deepEqual(await n1!.nodes(), [
    { node: 'pve1', address: '10.0.0.1', online: true },
    { node: 'pve2', address: '10.0.0.2', online: true },
    { node: 'pve3', address: '10.0.0.3', online: true },
  ]);
  t.deepEqual(await n1!.quorum(), { expectedVotes: 3, onlineNodes: ['pve1', 'pve2', 'pve3'], offlineNodes: [], quorate: true });

  // pve3 dies without leaving: its store stops keeping the lease alive; etcd drops its online key.
  let dropped = () => {};
  const gone = new Promise<void>((resolve) => (dropped = resolve));
  t.teardown(await stores[0]!.watch('corral/clusters/lab/online/pve3', (e) => e.type === 'delete' && dropped()));
  await stores[2]!.close();
  await gone;
  t.deepEqual(await n1!.quorum(), { expectedVotes: 3, onlineNodes: ['pve1', 'pve2'], offlineNodes: ['pve3'], quorate: true });

  // pve2 leaves for good: its vote is gone, 1 of 2 online is no majority.
  await n2!.leave();
  t.true(n2!.lease === undefined);
  t.deepEqual(await n1!.quorum(), { expectedVotes: 2, onlineNodes: ['pve1'], offlineNodes: ['pve3'], quorate: false });
});

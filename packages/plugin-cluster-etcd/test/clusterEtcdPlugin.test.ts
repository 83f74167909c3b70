import test from 'ava';
import { extensionPoints, InvalidConfigError } from '@corral/core';
import { createTestKernel } from '@corral/core/testing';
import { clusterEtcdPlugin, createClusterEtcdPlugin, ETCD_ENDPOINTS_ENV, EtcdClusterStore } from '../src/index.js';

test('the plugin registers an etcd cluster store on its endpoints', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [createClusterEtcdPlugin({ endpoints: ['http://127.0.0.1:2379'] })] });
  const store = kernel.extensions(extensionPoints.clusterStores).get('etcd');
  t.true(store instanceof EtcdClusterStore);
  t.deepEqual((store as EtcdClusterStore).endpoints, ['http://127.0.0.1:2379']);
});

test.serial('the discoverable plugin takes its endpoints from CORRAL_ETCD_ENDPOINTS and is skipped with a coded error without it', async (t) => {
  const saved = process.env[ETCD_ENDPOINTS_ENV];
  t.teardown(() => (saved === undefined ? delete process.env[ETCD_ENDPOINTS_ENV] : (process.env[ETCD_ENDPOINTS_ENV] = saved)));
  delete process.env[ETCD_ENDPOINTS_ENV];
  const without = await createTestKernel(t, { plugins: [clusterEtcdPlugin] });
  t.is(without.extensions(extensionPoints.clusterStores).size, 0);
  const failure = without.plugins.failed.find((f) => f.id === 'cluster-etcd');
  t.truthy(failure, JSON.stringify(without.plugins.failed));
  t.true((failure!.error as { cause?: unknown }).cause instanceof InvalidConfigError || failure!.error instanceof InvalidConfigError, String(failure!.error));

  process.env[ETCD_ENDPOINTS_ENV] = 'http://10.0.0.1:2379, http://10.0.0.2:2379';
  const withEnv = await createTestKernel(t, { plugins: [clusterEtcdPlugin] });
  t.deepEqual((withEnv.extensions(extensionPoints.clusterStores).get('etcd') as EtcdClusterStore).endpoints, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
});

import { definePlugin, extensionPoints, InvalidConfigError, type CorralPlugin } from '@corral/core';
import { EtcdClusterStore, type EtcdClusterStoreOptions } from './EtcdClusterStore.js';

/** Environment variable {@link clusterEtcdPlugin} reads its endpoints from (comma-separated client URLs). */
export const ETCD_ENDPOINTS_ENV = 'CORRAL_ETCD_ENDPOINTS';

/**
 * Makes plugin `cluster-etcd`: registers an {@link EtcdClusterStore} on these endpoints as
 * cluster store `etcd` (extension point `clusterStores`) and closes it on `kernel.dispose()`.
 *
 * ```ts
 * const plugin = createClusterEtcdPlugin({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'] });
 * const kernel = await createKernel({ node, dataDir, runDir, plugins: [plugin] });
 * ```
 */
export function createClusterEtcdPlugin(options: EtcdClusterStoreOptions): CorralPlugin {
  return definePlugin({
    id: 'cluster-etcd',
    apiVersion: 3,
    register(env) {
      const store = new EtcdClusterStore(options);
      env.extend(extensionPoints.clusterStores, 'etcd', store);
      env.onDispose(() => store.close());
    },
  });
}

/**
 * Plugin `cluster-etcd` as found by plugin discovery: like {@link createClusterEtcdPlugin}
 * with the endpoints taken from `CORRAL_ETCD_ENDPOINTS` when it registers. Without that
 * variable registration fails with `InvalidConfigError` (the kernel skips the plugin).
 */
export const clusterEtcdPlugin: CorralPlugin = definePlugin({
  id: 'cluster-etcd',
  apiVersion: 3,
  async register(env) {
    const raw = process.env[ETCD_ENDPOINTS_ENV];
    const endpoints = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (endpoints.length === 0) throw new InvalidConfigError(ETCD_ENDPOINTS_ENV, raw, `${ETCD_ENDPOINTS_ENV} must list the etcd client URLs (comma-separated)`);
    await createClusterEtcdPlugin({ endpoints }).register(env);
  },
});

/**
 * @corral/plugin-cluster-etcd: the cluster store on etcd (revisions, compare-and-set,
 * resumable watches, leases, cluster locks) and cluster membership with a quorum view.
 *
 * @packageDocumentation
 */
export { clusterEtcdPlugin, createClusterEtcdPlugin, ETCD_ENDPOINTS_ENV } from './clusterEtcdPlugin.js';
export { EtcdClusterStore, EtcdClusterLock, type EtcdClusterStoreOptions, type EtcdWatchOptions } from './EtcdClusterStore.js';
export { EtcdLease } from './EtcdLease.js';
export { etcdCall, asCorralError } from './etcdDeadline.js';
export { checkEtcdKey, checkRevision, MAX_ETCD_KEY_BYTES } from './etcdKeys.js';
export { ClusterMembership, type ClusterMembershipOptions, type ClusterNode, type QuorumView } from './ClusterMembership.js';
export * from './ha/index.js';

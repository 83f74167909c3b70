/**
 * Typed references to the services core provides and to the extension points plugins fill.
 *
 * ```ts
 * register(env) {
 *   env.extend(extensionPoints.storageDrivers, 'zfspool', new ZfsStorageDriver());
 *   const runner = env.get(coreServices.commandRunner);
 * }
 * ```
 *
 * @packageDocumentation
 */
import type { ConfigStore } from '../config/ConfigStore.js';
import type { HypervisorDriver } from '../contracts/hypervisor.js';
import type { StorageDriver } from '../contracts/storage.js';
import type { NetworkZoneDriver, NicPlugHook } from '../contracts/network.js';
import type { FirewallBackend } from '../contracts/firewall.js';
import type { ClusterStore, HaManager } from '../contracts/cluster.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import type { LockManager } from '../locks/LockManager.js';
import type { TaskManager } from '../tasks/TaskManager.js';
import type { EventBus } from '../events/EventBus.js';
import type { NodeInfoService } from '../node/NodeInfoService.js';
import type { Logger } from '../util/Logger.js';
import type { StorageFacade } from '../storage/StorageFacade.js';
import type { GuestFacade } from '../guests/GuestFacade.js';
import { createExtensionPoint, createServiceRef, type ServiceRef } from '../plugin/refs.js';

/** Services every kernel provides. */
export const coreServices = Object.freeze({
  /** Runs external programs (argv only). */
  commandRunner: createServiceRef<CommandRunner>({ id: 'core.commandRunner' }),
  /** Persistent config files with digests. */
  configStore: createServiceRef<ConfigStore>({ id: 'core.configStore' }),
  /** Named locks (guest locks are `guest:<vmid>`). */
  lockManager: createServiceRef<LockManager>({ id: 'core.lockManager' }),
  /** Tasks with UPIDs and persisted logs. */
  taskManager: createServiceRef<TaskManager>({ id: 'core.taskManager' }),
  /** Typed events. */
  eventBus: createServiceRef<EventBus>({ id: 'core.eventBus' }),
  /** The kernel logger. */
  logger: createServiceRef<Logger>({ id: 'core.logger' }),
  /** Cached host facts. */
  nodeInfo: createServiceRef<NodeInfoService>({ id: 'core.nodeInfo' }),
  /** `kernel.storage`. */
  storage: createServiceRef<StorageFacade>({ id: 'core.storage' }),
  /** `kernel.guests`. */
  guests: createServiceRef<GuestFacade>({ id: 'core.guests' }),
});

/**
 * The services a plugin may supply in its `registerInfrastructure` phase; the kernel builds
 * its facades on what is supplied, with core's local implementations as the defaults.
 */
export const infrastructureServices: readonly ServiceRef<unknown>[] = Object.freeze([
  coreServices.configStore,
  coreServices.lockManager,
  coreServices.taskManager,
]);

/** Extension points plugins add implementations to, keyed as noted. */
export const extensionPoints = Object.freeze({
  /** Hypervisor drivers by guest type (`qemu`, `lxc`). */
  hypervisors: createExtensionPoint<HypervisorDriver>({ id: 'core.hypervisors' }),
  /** Storage drivers by storage type id (`dir`, `zfspool`, `rbd`...). */
  storageDrivers: createExtensionPoint<StorageDriver>({ id: 'core.storageDrivers' }),
  /** Network zone drivers by zone type (`simple`, `vxlan`...). */
  networkZones: createExtensionPoint<NetworkZoneDriver>({ id: 'core.networkZones' }),
  /**
   * Hooks around guest NIC plugging, keyed by an id of the plugin's choosing (`sdn`,
   * `firewall`); called in registration order (since plugin API 4).
   */
  nicPlugHooks: createExtensionPoint<NicPlugHook>({ id: 'core.nicPlugHooks' }),
  /** Firewall backends by id (`nftables`). */
  firewallBackends: createExtensionPoint<FirewallBackend>({ id: 'core.firewallBackends' }),
  /**
   * Cluster stores by id (`etcd`), for the HA manager and tools. The kernel itself does not
   * read them: a cluster plugin that should hold the node's configs and locks supplies
   * `coreServices.configStore` / `coreServices.lockManager` in its `registerInfrastructure`.
   */
  clusterStores: createExtensionPoint<ClusterStore>({ id: 'core.clusterStores' }),
  /** HA managers by id. */
  haManagers: createExtensionPoint<HaManager>({ id: 'core.haManagers' }),
});

import 'reflect-metadata';
import { mkdir, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { container as tsyringeRoot } from 'tsyringe';
import type { ConfigStore } from '../config/ConfigStore.js';
import { LocalConfigStore } from '../config/LocalConfigStore.js';
import { DisposedError, InvalidArgumentError } from '../errors.js';
import { EventBus } from '../events/EventBus.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import { NodeCommandRunner } from '../exec/NodeCommandRunner.js';
import { GuestFacade } from '../guests/GuestFacade.js';
import type { LockManager } from '../locks/LockManager.js';
import { HostLockManager } from '../locks/HostLockManager.js';
import { NodeInfoService } from '../node/NodeInfoService.js';
import type { CorralPlugin } from '../plugin/definePlugin.js';
import { discoverPlugins } from '../plugin/discoverPlugins.js';
import { CURRENT_PLUGIN_API_WINDOW, type PluginApiWindow } from '../plugin/PluginApiVersion.js';
import { loadPlugins, type PluginCandidate, type PluginLoadReport, type PluginLoadResult } from '../plugin/PluginLoader.js';
import type { ExtensionPointRef, ServiceRef } from '../plugin/refs.js';
import { ServiceRegistry } from '../plugin/ServiceRegistry.js';
import { StorageFacade } from '../storage/StorageFacade.js';
import { TaskManager } from '../tasks/TaskManager.js';
import { silentLogger, type Logger } from '../util/Logger.js';
import { coreServices, extensionPoints } from './coreRefs.js';

/** Options of {@link createKernel}. */
export interface KernelOptions {
  /** This node's name (Proxmox node name: letters, digits, `-`). */
  readonly node: string;
  /** Persistent state (configs, task logs): created if missing. */
  readonly dataDir: string;
  /** Run state (sockets, pid files): created if missing. Guests started by one kernel are found again by the next through it. */
  readonly runDir: string;
  /** Plugins passed explicitly (embedding). */
  readonly plugins?: readonly CorralPlugin[];
  /**
   * Discover installed plugin packages (a `"corral"` block in package.json) in
   * `<dir>/node_modules` for each dir. `true` means `[process.cwd()]`. Explicit plugins win
   * over discovered ones with the same id. Default: no discovery.
   */
  readonly discover?: boolean | readonly string[];
  /** Kernel logger (pino fits). Default: silent. */
  readonly logger?: Logger;
  /** Replaces the command runner (tests that record argv). */
  readonly commandRunner?: CommandRunner;
  /** Replaces the local config store (embedding; a plugin supplies one through `registerInfrastructure`). */
  readonly configStore?: ConfigStore;
  /**
   * Replaces the lock manager. Default: a {@link HostLockManager} scoped to the data dir, so
   * every process on this host that opens the same data dir (a daemon, a CLI, workers) takes
   * the same guest and storage locks. Only a kernel that is alone on its data dir may use a
   * `LocalLockManager`.
   */
  readonly lockManager?: LockManager;
  /**
   * The plugin API window to check plugins against. Only tests of plugin compatibility set
   * it; production uses core's `PLUGIN_API_VERSION`/`PLUGIN_API_AGE`.
   */
  readonly pluginApiWindow?: PluginApiWindow;
}

/** What the kernel reports about plugins. */
export interface KernelPluginReport {
  /** Ids of loaded plugins, in load order. */
  readonly loaded: readonly string[];
  /** Plugins (or packages) that were refused or failed, with coded errors. */
  readonly failed: readonly PluginLoadResult[];
  /** Warnings (older accepted API versions, duplicates). */
  readonly warnings: readonly string[];
}

/** A running Corral node. */
export interface Kernel {
  readonly node: string;
  readonly dataDir: string;
  readonly runDir: string;
  /** Guests of both types (`kernel.guests.create('qemu', {...})`). */
  readonly guests: GuestFacade;
  /** Storage definitions and volumes. */
  readonly storage: StorageFacade;
  readonly tasks: TaskManager;
  readonly events: EventBus;
  readonly config: ConfigStore;
  readonly nodeInfo: NodeInfoService;
  readonly plugins: KernelPluginReport;
  /** Resolves a service by typed ref. Throws `ServiceNotRegisteredError`. */
  get<T>(ref: ServiceRef<T>): T;
  /** Implementations of an extension point, by key. */
  extensions<T>(point: ExtensionPointRef<T>): ReadonlyMap<string, T>;
  /**
   * Runs plugin cleanups (reverse order) and releases the container. Guests keep running.
   * Idempotent.
   */
  dispose(): Promise<void>;
}

const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
/** The data dir's task log tree (not config files: never swept for temp files). */
const TASKS_DIR = 'tasks';

/**
 * Builds a kernel in two phases, in a private tsyringe container (a child of tsyringe's root,
 * which nothing registers into). First the bootstrap services (command runner, logger, event
 * bus, node info) and each plugin's optional `registerInfrastructure`, in `requires` order,
 * which may supply the config store, the lock manager and the task manager; core's local
 * implementations fill in what nobody supplied, and `kernel.storage` and `kernel.guests` are
 * built on what is registered. Then each plugin's `register`. A plugin whose `register` is
 * refused or throws is reported in `kernel.plugins.failed` and skipped; the kernel still
 * starts. With the local config store, temp files left by interrupted writes of dead
 * processes are removed before the facades are built.
 *
 * @throws InvalidArgumentError for a bad node name.
 * @throws InfrastructureConflictError when two plugins (or a plugin and `options`) supply the same infrastructure.
 * @throws PluginLoadFailedError when a plugin's `registerInfrastructure` throws.
 */
export async function createKernel(options: KernelOptions): Promise<Kernel> {
  if (!NODE_NAME.test(options.node)) throw new InvalidArgumentError('node', `'${options.node}' is not a valid node name`);
  const dataDir = resolve(options.dataDir);
  const runDir = resolve(options.runDir);
  await Promise.all([mkdir(dataDir, { recursive: true }), mkdir(runDir, { recursive: true })]);

  const logger = options.logger ?? silentLogger;
  const registry = new ServiceRegistry(tsyringeRoot.createChildContainer());
  const runner = options.commandRunner ?? new NodeCommandRunner();
  const events = new EventBus({ logger });
  const nodeInfo = new NodeInfoService();
  // Phase one sees only these; infrastructure comes from plugins or the local defaults below.
  registry.provide(coreServices.commandRunner, { value: runner });
  registry.provide(coreServices.eventBus, { value: events });
  registry.provide(coreServices.logger, { value: logger });
  registry.provide(coreServices.nodeInfo, { value: nodeInfo });
  const infrastructureOwners = new Map<string, string>();
  if (options.configStore) {
    registry.provide(coreServices.configStore, { value: options.configStore });
    infrastructureOwners.set(coreServices.configStore.id, 'kernel options');
  }
  if (options.lockManager) {
    registry.provide(coreServices.lockManager, { value: options.lockManager });
    infrastructureOwners.set(coreServices.lockManager.id, 'kernel options');
  }
  let facades: { store: ConfigStore; storage: StorageFacade; guests: GuestFacade; tasks: TaskManager } | undefined;
  /** Phase two: defaults for what no plugin supplied, then the facades on what is registered. */
  const buildFacades = async () => {
    let localStore: LocalConfigStore | undefined;
    if (!registry.has(coreServices.configStore)) {
      localStore = new LocalConfigStore({ root: dataDir, logger: options.logger });
      registry.provide(coreServices.configStore, { value: localStore });
    }
    if (!registry.has(coreServices.lockManager)) {
      const namespace = `corral-kernel:${await realpath(dataDir)}`;
      registry.provide(coreServices.lockManager, { value: new HostLockManager({ namespace }) });
    }
    if (!registry.has(coreServices.taskManager)) {
      registry.provide(coreServices.taskManager, { value: new TaskManager({ dataDir, node: options.node, events }) });
    }
    const store = registry.get(coreServices.configStore);
    const locks = registry.get(coreServices.lockManager);
    const tasks = registry.get(coreServices.taskManager);
    // Transactions of dead processes past their commit point are completed, then temp files of
    // config writes whose process died (a crash mid-write) go, at every start.
    const recovered = await localStore?.recoverTransactions();
    if (recovered) logger.info(`completed ${recovered} config transaction(s) interrupted by a crash`);
    const staleTemps = await localStore?.removeStaleTempFiles('', { recursive: true, exclude: [TASKS_DIR] });
    if (staleTemps) logger.info(`removed ${staleTemps} stale temp file(s) of interrupted config writes`);
    const storage = new StorageFacade({
      store,
      drivers: () => registry.extensions(extensionPoints.storageDrivers),
      runner,
      locks,
      logger,
      node: options.node,
      runDir,
    });
    const guests = new GuestFacade({
      store,
      hypervisors: () => registry.extensions(extensionPoints.hypervisors),
      nicHooks: () => registry.extensions(extensionPoints.nicPlugHooks),
      storage,
      runner,
      locks,
      tasks,
      events,
      logger,
      node: options.node,
      runDir,
    });
    registry.provide(coreServices.storage, { value: storage });
    registry.provide(coreServices.guests, { value: guests });
    facades = { store, storage, guests, tasks };
  };

  const candidates: PluginCandidate[] = (options.plugins ?? []).map((plugin) => ({ plugin, source: { kind: 'explicit' } }));
  const discoveryFailures: PluginLoadResult[] = [];
  if (options.discover) {
    const roots = options.discover === true ? [process.cwd()] : options.discover;
    const found = await discoverPlugins(roots);
    const explicit = new Set(candidates.map((c) => c.plugin.id));
    candidates.push(...found.candidates.filter((c) => !explicit.has(c.plugin.id)));
    for (const f of found.failures) {
      logger.error(f.error.message, { package: f.packageName, code: f.error.code });
      discoveryFailures.push({
        id: f.packageName,
        source: { kind: 'package', packageName: f.packageName, packageDir: f.packageDir },
        status: 'failed',
        error: f.error,
        warnings: [],
      });
    }
  }

  const disposers: Array<() => unknown> = [];
  const runDisposers = async () => {
    for (const fn of disposers.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn(`plugin cleanup failed: ${(err as Error).message}`);
      }
    }
  };
  let report: PluginLoadReport;
  try {
    report = await loadPlugins(candidates, {
      registry,
      window: options.pluginApiWindow ?? CURRENT_PLUGIN_API_WINDOW,
      logger,
      node: options.node,
      dataDir,
      runDir,
      onDispose: (fn) => disposers.push(fn),
      infrastructureOwners,
      onInfrastructureReady: buildFacades,
    });
  } catch (err) {
    await runDisposers();
    await registry.container.dispose();
    throw err;
  }
  const { store, storage, guests, tasks } = facades!;

  let disposed = false;
  const alive = () => {
    if (disposed) throw new DisposedError();
  };
  return {
    node: options.node,
    dataDir,
    runDir,
    guests,
    storage,
    tasks,
    events,
    config: store,
    nodeInfo,
    plugins: { loaded: report.loaded, failed: [...discoveryFailures, ...report.failed], warnings: report.warnings },
    get: (ref) => (alive(), registry.get(ref)),
    extensions: (point) => (alive(), registry.extensions(point)),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await runDisposers();
      await registry.container.dispose();
    },
  };
}

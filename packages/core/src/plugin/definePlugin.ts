import type { DependencyContainer } from 'tsyringe';
import { PluginInvalidError } from '../errors.js';
import type { ExtensionPointRef, ServiceRef } from './refs.js';
import type { Logger } from '../util/Logger.js';

/** Plugin ids: lowercase words joined by `-` or `.` (`storage-zfs`, `acme.storage-foo`). */
const PLUGIN_ID = /^[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*$/;

/** Brand of values made by {@link definePlugin}. */
export const PLUGIN_BRAND = '@corral/plugin' as const;

/**
 * What a plugin's `register` receives. Services a plugin provides go to the kernel's root
 * container (visible to every plugin that `requires` it); a plugin's own classes go to its
 * private child {@link PluginEnvironment.container}.
 */
export interface PluginEnvironment {
  /** The plugin's id. */
  readonly pluginId: string;
  /** Node name of the kernel. */
  readonly node: string;
  /** The kernel's data directory (persistent). */
  readonly dataDir: string;
  /** The kernel's run directory (sockets, pid files). */
  readonly runDir: string;
  /** A logger whose lines carry the plugin id. */
  readonly logger: Logger;
  /** The plugin's private child container (never tsyringe's global container). */
  readonly container: DependencyContainer;
  /** Resolves a service (core's or another plugin's). Throws `ServiceNotRegisteredError`. */
  get<T>(ref: ServiceRef<T>): T;
  /** Provides a service to the kernel. A value, or a factory called once on first use. */
  provide<T>(ref: ServiceRef<T>, provider: { value: T } | { factory: () => T }): void;
  /** Adds an implementation under `key` to an extension point (a hypervisor type, a storage type...). */
  extend<T>(point: ExtensionPointRef<T>, key: string, implementation: T): void;
  /** Registers cleanup run by `kernel.dispose()`, in reverse order of registration. */
  onDispose(fn: () => unknown): void;
}

/**
 * What a plugin's {@link PluginDefinition.registerInfrastructure} receives: the first boot
 * phase, before core builds its facades. Only the bootstrap services are there to `get`
 * (`coreServices.commandRunner`, `logger`, `eventBus`, `nodeInfo`); a factory given to
 * `provide` runs later, once every plugin's infrastructure is registered, and may `get` any
 * infrastructure service then (declare the providing plugin in `requires`).
 */
export interface InfrastructureEnvironment {
  /** The plugin's id. */
  readonly pluginId: string;
  /** Node name of the kernel. */
  readonly node: string;
  /** The kernel's data directory (persistent). */
  readonly dataDir: string;
  /** The kernel's run directory (sockets, pid files). */
  readonly runDir: string;
  /** A logger whose lines carry the plugin id. */
  readonly logger: Logger;
  /** Resolves a bootstrap service, or (inside a factory) any infrastructure service. Throws `ServiceNotRegisteredError`. */
  get<T>(ref: ServiceRef<T>): T;
  /**
   * Supplies one piece of infrastructure: `coreServices.configStore`, `coreServices.lockManager`
   * or `coreServices.taskManager` (`InvalidArgumentError` for another ref). Core's local
   * implementation is used for what no plugin supplies. A second provider of the same ref
   * (another plugin, or the kernel's options) makes `createKernel` throw
   * `InfrastructureConflictError` naming both.
   */
  provide<T>(ref: ServiceRef<T>, provider: { value: T } | { factory: () => T }): void;
  /** Registers cleanup run by `kernel.dispose()` (and if the kernel fails to start), in reverse order. */
  onDispose(fn: () => unknown): void;
}

/** The fields a plugin author writes. */
export interface PluginDefinition {
  /** Unique id (`storage-zfs`). Third parties prefix theirs (`acme.storage-foo`). */
  readonly id: string;
  /** The plugin API version the plugin was written against (see `PLUGIN_API_VERSION`). */
  readonly apiVersion: number;
  /** Ids of plugins that must load first. */
  readonly requires?: readonly string[];
  /** Registers services and extensions. May be async. Throwing makes the kernel skip the plugin. */
  register(env: PluginEnvironment): void | Promise<void>;
  /**
   * Optional first boot phase: supplies kernel infrastructure (a config store, a lock manager,
   * a task manager) before core builds `kernel.guests` and `kernel.storage` around it. Runs for
   * every plugin, in `requires` order, before any `register`. Throwing stops the kernel
   * (`createKernel` rejects with `PluginLoadFailedError`): a node must not fall back to local
   * infrastructure in place of its cluster's.
   */
  registerInfrastructure?(env: InfrastructureEnvironment): void | Promise<void>;
}

/** A plugin value, as made by {@link definePlugin}. */
export interface CorralPlugin extends PluginDefinition {
  readonly $$type: typeof PLUGIN_BRAND;
  readonly requires: readonly string[];
}

/**
 * Makes a plugin value. Checks the definition's shape at once (throws `PluginInvalidError`);
 * the API window is checked when a kernel loads it.
 */
export function definePlugin(definition: PluginDefinition): CorralPlugin {
  const id = typeof definition?.id === 'string' ? definition.id : String(definition?.id);
  if (!PLUGIN_ID.test(id)) throw new PluginInvalidError(id, `plugin id '${id}' is invalid: use lowercase words joined by '-' or '.'`);
  if (!Number.isInteger(definition.apiVersion) || definition.apiVersion < 0) {
    throw new PluginInvalidError(id, `plugin '${id}': apiVersion must be a non-negative integer, got ${String(definition.apiVersion)}`);
  }
  if (typeof definition.register !== 'function') throw new PluginInvalidError(id, `plugin '${id}': register must be a function`);
  if (definition.registerInfrastructure !== undefined && typeof definition.registerInfrastructure !== 'function') {
    throw new PluginInvalidError(id, `plugin '${id}': registerInfrastructure must be a function`);
  }
  const requires = definition.requires ?? [];
  if (!Array.isArray(requires) || requires.some((r) => typeof r !== 'string')) {
    throw new PluginInvalidError(id, `plugin '${id}': requires must be a list of plugin ids`);
  }
  if (requires.includes(id)) throw new PluginInvalidError(id, `plugin '${id}' requires itself`);
  return Object.freeze({ ...definition, requires: Object.freeze([...requires]), $$type: PLUGIN_BRAND });
}

/** True for values made by {@link definePlugin} (also across duplicate copies of core). */
export function isCorralPlugin(value: unknown): value is CorralPlugin {
  return typeof value === 'object' && value !== null && (value as { $$type?: unknown }).$$type === PLUGIN_BRAND;
}

import type { DependencyContainer } from 'tsyringe';
import {
  CorralError,
  InfrastructureConflictError,
  InvalidArgumentError,
  PluginApiTooNewError,
  PluginApiTooOldError,
  PluginDependencyCycleError,
  PluginLoadFailedError,
  PluginMissingDependencyError,
} from '../errors.js';
import type { Logger } from '../util/Logger.js';
import { coreServices, infrastructureServices } from '../kernel/coreRefs.js';
import type { LockManager } from '../locks/LockManager.js';
import { lockManagerForApi1 } from './lockManagerForApi1.js';
import type { CorralPlugin, InfrastructureEnvironment, PluginEnvironment } from './definePlugin.js';
import { checkPluginApiVersion, type PluginApiWindow } from './PluginApiVersion.js';
import type { ExtensionPointRef, ServiceRef } from './refs.js';
import type { ServiceRegistry } from './ServiceRegistry.js';

/** Where a plugin came from. */
export type PluginSource = { kind: 'explicit' } | { kind: 'package'; packageName: string; packageDir: string };

/** A plugin offered to the loader. */
export interface PluginCandidate {
  readonly plugin: CorralPlugin;
  readonly source: PluginSource;
}

/** The outcome for one plugin. */
export interface PluginLoadResult {
  readonly id: string;
  readonly source: PluginSource;
  readonly status: 'loaded' | 'failed';
  /** Why it failed (a coded `CorralError`). */
  readonly error?: CorralError;
  /** Non-fatal remarks (older accepted API, duplicate id ignored...). */
  readonly warnings: readonly string[];
}

/** Everything the loader decided, in load order for loaded plugins. */
export interface PluginLoadReport {
  readonly results: readonly PluginLoadResult[];
  readonly loaded: readonly string[];
  readonly failed: readonly PluginLoadResult[];
  readonly warnings: readonly string[];
}

/** What the loader needs from the kernel. */
export interface PluginLoaderContext {
  readonly registry: ServiceRegistry;
  readonly window: PluginApiWindow;
  readonly logger: Logger;
  readonly node: string;
  readonly dataDir: string;
  readonly runDir: string;
  /** Collects dispose callbacks registered by plugins. */
  readonly onDispose: (fn: () => unknown) => void;
  /**
   * Who already supplies an infrastructure service, by ref id (`kernel options` for one
   * passed to `createKernel`). Plugins' providers are added as they register.
   */
  readonly infrastructureOwners?: Map<string, string>;
  /** Runs between the infrastructure phase and the `register` phase (the kernel builds its facades). */
  readonly onInfrastructureReady?: () => void | Promise<void>;
}

/**
 * Orders plugins by `requires` (stable: in offered order where free), checks the API window,
 * then boots in two phases: every plugin's optional `registerInfrastructure`, then
 * `ctx.onInfrastructureReady`, then every `register`, with registrations staged so a plugin
 * that throws leaves nothing behind. A bad plugin's `register` is reported, never thrown: it
 * does not stop the kernel. The infrastructure phase throws instead.
 *
 * @throws InfrastructureConflictError when two providers supply the same infrastructure service.
 * @throws PluginLoadFailedError when a plugin's `registerInfrastructure` throws anything else.
 */
export async function loadPlugins(candidates: readonly PluginCandidate[], ctx: PluginLoaderContext): Promise<PluginLoadReport> {
  const results = new Map<string, PluginLoadResult>();
  const warnings: string[] = [];
  const byId = new Map<string, PluginCandidate>();
  const fail = (c: PluginCandidate, error: CorralError, extra: string[] = []) => {
    results.set(c.plugin.id, { id: c.plugin.id, source: c.source, status: 'failed', error, warnings: extra });
    ctx.logger.error(error.message, { plugin: c.plugin.id, code: error.code });
  };

  const accepted = new Map<string, string[]>();
  for (const c of candidates) {
    if (byId.has(c.plugin.id)) {
      const w = `plugin '${c.plugin.id}' offered twice: the first one is used`;
      warnings.push(w);
      ctx.logger.warn(w);
      continue;
    }
    byId.set(c.plugin.id, c);
    const compat = checkPluginApiVersion(c.plugin.apiVersion, ctx.window);
    if (compat === 'too-new') fail(c, new PluginApiTooNewError(c.plugin.id, c.plugin.apiVersion, ctx.window.version));
    else if (compat === 'too-old') fail(c, new PluginApiTooOldError(c.plugin.id, c.plugin.apiVersion, ctx.window.version - ctx.window.age));
    else {
      const own: string[] = [];
      if (compat === 'older-accepted') {
        const w = `plugin '${c.plugin.id}' uses plugin API ${c.plugin.apiVersion}, older than ${ctx.window.version}: it still loads, but should be updated (see API-CHANGELOG.md)`;
        own.push(w);
        warnings.push(w);
        ctx.logger.warn(w, { plugin: c.plugin.id });
      }
      accepted.set(c.plugin.id, own);
    }
  }

  const order = orderByRequires([...accepted.keys()].map((id) => byId.get(id)!.plugin));
  for (const [id, cycle] of order.cycles) fail(byId.get(id)!, new PluginDependencyCycleError(cycle));

  await registerInfrastructure(order.sorted, ctx);
  await ctx.onInfrastructureReady?.();

  const loaded: string[] = [];
  for (const plugin of order.sorted) {
    const candidate = byId.get(plugin.id)!;
    const own = accepted.get(plugin.id) ?? [];
    const missing = plugin.requires.find((r) => !loaded.includes(r));
    if (missing !== undefined) {
      fail(candidate, new PluginMissingDependencyError(plugin.id, missing), own);
      continue;
    }
    const staged = stageRegistrations(plugin, ctx);
    try {
      await plugin.register(staged.env);
      staged.commit();
    } catch (cause) {
      await staged.rollback();
      fail(candidate, new PluginLoadFailedError(plugin.id, { cause }), own);
      continue;
    }
    loaded.push(plugin.id);
    results.set(plugin.id, { id: plugin.id, source: candidate.source, status: 'loaded', warnings: own });
    ctx.logger.debug(`plugin '${plugin.id}' loaded`);
  }

  const all = [...byId.keys()].map((id) => results.get(id)!);
  return { results: all, loaded, failed: all.filter((r) => r.status === 'failed'), warnings };
}

/** Phase one: each plugin's `registerInfrastructure`, in order; plugins whose requirements are not offered are left to phase two's report. */
async function registerInfrastructure(sorted: readonly CorralPlugin[], ctx: PluginLoaderContext): Promise<void> {
  const owners = ctx.infrastructureOwners ?? new Map<string, string>();
  const allowed = new Set(infrastructureServices.map((r) => r.id));
  const offered = new Set(sorted.map((p) => p.id));
  for (const plugin of sorted) {
    if (!plugin.registerInfrastructure || plugin.requires.some((r) => !offered.has(r))) continue;
    const ops: Array<() => void> = [];
    const disposers: Array<() => unknown> = [];
    const claimed: string[] = [];
    const base = pluginBasics(plugin, ctx);
    const env: InfrastructureEnvironment = {
      ...base,
      get: (ref) => ctx.registry.get(ref),
      provide: (ref, provider) => {
        if (!allowed.has(ref.id)) {
          throw new InvalidArgumentError('ref', `'${ref.id}' is not kernel infrastructure: supply one of ${[...allowed].join(', ')}, or provide it in register`);
        }
        const first = owners.get(ref.id);
        if (first !== undefined) throw new InfrastructureConflictError(ref.id, first, `plugin '${plugin.id}'`);
        owners.set(ref.id, `plugin '${plugin.id}'`);
        claimed.push(ref.id);
        ops.push(() => ctx.registry.provide(ref, provider));
      },
      onDispose: (fn) => disposers.push(fn),
    };
    try {
      await plugin.registerInfrastructure(env);
    } catch (cause) {
      for (const id of claimed) owners.delete(id);
      await runCleanups(disposers, base.logger, 'registerInfrastructure');
      if (cause instanceof InfrastructureConflictError) throw cause;
      throw new PluginLoadFailedError(plugin.id, { cause });
    }
    for (const op of ops) op();
    for (const fn of disposers) ctx.onDispose(fn);
  }
}

/** Kahn's algorithm, keeping offered order among ready plugins; reports members of cycles. */
function orderByRequires(plugins: readonly CorralPlugin[]): { sorted: CorralPlugin[]; cycles: Map<string, string[]> } {
  const ids = new Set(plugins.map((p) => p.id));
  const sorted: CorralPlugin[] = [];
  const done = new Set<string>();
  let remaining = [...plugins];
  // Requirements on plugins that are not offered stay unresolved here: the load step reports them.
  while (remaining.length > 0) {
    const ready = remaining.filter((p) => p.requires.every((r) => done.has(r) || !ids.has(r)));
    if (ready.length === 0) break;
    for (const p of ready) {
      sorted.push(p);
      done.add(p.id);
    }
    remaining = remaining.filter((p) => !done.has(p.id));
  }
  const cycles = new Map<string, string[]>();
  for (const p of remaining) cycles.set(p.id, findCycle(p.id, plugins) ?? [p.id]);
  return { sorted, cycles };
}

function findCycle(start: string, plugins: readonly CorralPlugin[]): string[] | undefined {
  const byId = new Map(plugins.map((p) => [p.id, p]));
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const at = path.indexOf(id);
    if (at >= 0) return [...path.slice(at), id];
    const p = byId.get(id);
    if (!p) return undefined;
    path.push(id);
    for (const r of p.requires) {
      const c = visit(r);
      if (c) return c;
    }
    path.pop();
    return undefined;
  };
  return visit(start);
}

/** Registrations of one plugin, applied only if its `register` succeeds. */
function stageRegistrations(plugin: CorralPlugin, ctx: PluginLoaderContext) {
  const ops: Array<() => void> = [];
  const disposers: Array<() => unknown> = [];
  const container: DependencyContainer = ctx.registry.container.createChildContainer();
  const base = pluginBasics(plugin, ctx);
  const env: PluginEnvironment = {
    ...base,
    container,
    get: <T>(ref: ServiceRef<T>): T => {
      const service = ctx.registry.get(ref);
      // API 2 changed what `acquire` resolves to; API 1 plugins get a lock manager that keeps their contract.
      if (plugin.apiVersion < 2 && ref.id === coreServices.lockManager.id) return lockManagerForApi1(service as LockManager) as T;
      return service;
    },
    provide: <T>(ref: ServiceRef<T>, provider: { value: T } | { factory: () => T }) => {
      if (ctx.registry.has(ref)) ctx.registry.provide(ref, provider); // throws AlreadyExistsError now, in register
      ops.push(() => ctx.registry.provide(ref, provider));
    },
    extend: <T>(point: ExtensionPointRef<T>, key: string, impl: T) => {
      if (ctx.registry.extension(point, key) !== undefined) ctx.registry.extend(point, key, impl);
      ops.push(() => ctx.registry.extend(point, key, impl));
    },
    onDispose: (fn) => disposers.push(fn),
  };
  return {
    env,
    commit: () => {
      for (const op of ops) op();
      for (const fn of disposers) ctx.onDispose(fn);
    },
    rollback: async () => {
      await runCleanups(disposers, base.logger, 'register');
      await container.dispose();
    },
  };
}

/** What both boot phases' environments tell a plugin about itself and the kernel. */
function pluginBasics(plugin: CorralPlugin, ctx: PluginLoaderContext) {
  return { pluginId: plugin.id, node: ctx.node, dataDir: ctx.dataDir, runDir: ctx.runDir, logger: prefixLogger(ctx.logger, plugin.id) };
}

/** Runs a failed phase's cleanups in reverse order; one that throws is logged. */
async function runCleanups(disposers: Array<() => unknown>, logger: Logger, phase: string): Promise<void> {
  for (const fn of disposers.reverse()) {
    try {
      await fn();
    } catch (err) {
      logger.warn(`cleanup after failed ${phase} threw: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}

function prefixLogger(logger: Logger, pluginId: string): Logger {
  const add = (data?: Record<string, unknown>) => ({ plugin: pluginId, ...data });
  return {
    debug: (m, d) => logger.debug(m, add(d)),
    info: (m, d) => logger.info(m, add(d)),
    warn: (m, d) => logger.warn(m, add(d)),
    error: (m, d) => logger.error(m, add(d)),
  };
}

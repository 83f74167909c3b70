import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginInvalidError, PluginLoadFailedError, type CorralError } from '../errors.js';
import { isCorralPlugin } from './definePlugin.js';
import type { PluginCandidate } from './PluginLoader.js';

/**
 * The `"corral"` block of a plugin package's package.json:
 *
 * ```json
 * { "corral": { "plugins": ["./dist/src/index.js"] } }
 * ```
 *
 * Each listed module (relative to the package) is imported; every export that is a plugin
 * value (made by `definePlugin`) is offered to the kernel.
 */
export interface CorralPackageBlock {
  readonly plugins: readonly string[];
}

/** A package that could not be turned into plugins. */
export interface DiscoveryFailure {
  readonly packageName: string;
  readonly packageDir: string;
  readonly error: CorralError;
}

/** What {@link discoverPlugins} found. */
export interface DiscoveryResult {
  readonly candidates: PluginCandidate[];
  readonly failures: DiscoveryFailure[];
}

/** Package directories directly in a node_modules folder (`x`, `@scope/x`), following symlinks (workspaces). */
async function packageDirs(nodeModules: string): Promise<string[]> {
  const out: string[] = [];
  let names: string[];
  try {
    names = await readdir(nodeModules);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      const scoped = await readdir(join(nodeModules, name)).catch(() => [] as string[]);
      for (const s of scoped.sort()) out.push(join(nodeModules, name, s));
    } else out.push(join(nodeModules, name));
  }
  return out;
}

/**
 * Finds installed plugin packages: every package in `<root>/node_modules` (for each root)
 * whose package.json has a `"corral"` block. A package whose module fails to import, or
 * exports no plugin, is reported in `failures` (code `CORRAL_ERR_PLUGIN_LOAD_FAILED` /
 * `CORRAL_ERR_PLUGIN_INVALID`) and skipped.
 *
 * Cost: one readdir per node_modules plus one package.json read per package; plugin modules
 * are imported only for packages with a block.
 */
export async function discoverPlugins(roots: readonly string[]): Promise<DiscoveryResult> {
  const candidates: PluginCandidate[] = [];
  const failures: DiscoveryFailure[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    for (const dir of await packageDirs(join(resolve(root), 'node_modules'))) {
      let pkg: { name?: string; corral?: Partial<CorralPackageBlock> };
      try {
        pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      if (!pkg.corral || !pkg.name || seen.has(pkg.name)) continue;
      seen.add(pkg.name);
      const source = { kind: 'package' as const, packageName: pkg.name, packageDir: dir };
      const modules = pkg.corral.plugins;
      if (!Array.isArray(modules) || modules.length === 0 || modules.some((m) => typeof m !== 'string')) {
        failures.push({
          packageName: pkg.name,
          packageDir: dir,
          error: new PluginInvalidError(pkg.name, `package '${pkg.name}': "corral.plugins" must be a non-empty list of module paths`),
        });
        continue;
      }
      let found = 0;
      for (const rel of modules) {
        try {
          const mod = (await import(pathToFileURL(resolve(dir, rel)).href)) as Record<string, unknown>;
          for (const value of new Set(Object.values(mod))) {
            if (isCorralPlugin(value)) {
              candidates.push({ plugin: value, source });
              found++;
            }
          }
        } catch (cause) {
          failures.push({ packageName: pkg.name, packageDir: dir, error: new PluginLoadFailedError(pkg.name, { cause }) });
          found = -1;
          break;
        }
      }
      if (found === 0) {
        failures.push({
          packageName: pkg.name,
          packageDir: dir,
          error: new PluginInvalidError(pkg.name, `package '${pkg.name}' declares a corral block but exports no plugin`),
        });
      }
    }
  }
  return { candidates, failures };
}

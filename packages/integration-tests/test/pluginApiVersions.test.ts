/**
 * Every first-party plugin declares the plugin API version it was written against as a
 * literal, so that raising core's PLUGIN_API_VERSION makes the version window check them
 * (a plugin passing core's runtime constant would always claim the newest API).
 */
import test from 'ava';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isCorralPlugin, PLUGIN_API_VERSION } from '@corral/core';

/** The repository root (this file runs from packages/integration-tests/dist/test). */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

interface PluginPackage {
  readonly name: string;
  readonly dir: string;
  readonly entries: readonly string[];
}

function pluginPackages(): PluginPackage[] {
  const out: PluginPackage[] = [];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; corral?: { plugins?: string[] } };
      if (pkg.corral?.plugins) out.push({ name: pkg.name, dir: join(root, group, name), entries: pkg.corral.plugins });
    }
  }
  return out;
}

/** Source files of a package (recursively under src/). */
function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.ts')) out.push(join(d, e.name));
    }
  };
  walk(join(dir, 'src'));
  return out;
}

const packages = pluginPackages();

test('the first-party plugin packages are found', (t) => {
  t.true(packages.length >= 6, packages.map((p) => p.name).join(', '));
});

for (const pkg of packages) {
  test(`${pkg.name}: every definePlugin call writes apiVersion as a number literal`, (t) => {
    const declarations: string[] = [];
    for (const file of sources(pkg.dir)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bapiVersion:\s*([^,\n}]+)/g)) declarations.push(`${file.slice(root.length + 1)}: ${m[1]!.trim()}`);
    }
    t.true(declarations.length > 0, 'no apiVersion declaration found');
    for (const d of declarations) t.regex(d, /: \d+$/, `not a literal: ${d}`);
  });

  test(`${pkg.name}: its plugins load in this core's window and are current`, async (t) => {
    for (const entry of pkg.entries) {
      const mod = (await import(pathToFileURL(join(pkg.dir, entry)).href)) as Record<string, unknown>;
      const plugins = Object.values(mod).filter(isCorralPlugin);
      t.true(plugins.length > 0, `${entry} exports no plugin`);
      for (const p of plugins)
        t.is(p.apiVersion, PLUGIN_API_VERSION, `${p.id} declares API ${p.apiVersion}; core is at ${PLUGIN_API_VERSION}: update it (see API-CHANGELOG.md)`);
    }
  });
}

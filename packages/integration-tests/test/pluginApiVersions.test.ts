/**
 * Every first-party plugin declares the plugin API version it was written against as a
 * literal, so that raising core's PLUGIN_API_VERSION makes the version window check them
 * (a plugin passing core's runtime constant would always claim the newest API).
 *
 * Third-party plugins written for an older API keep working: the example storage plugin as it
 * stood at plugin API 1 (fixtures/storage-plugin-api1, frozen) compiles against this core,
 * loads with the older-API warning, passes the storage conformance kit, and gets the safe
 * default for what it does not declare (every option of its storages needs a privileged caller).
 */
import test from 'ava';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ErrorCodes,
  extensionPoints,
  checkPluginApiVersion,
  isCorralPlugin,
  PermissionError,
  PLUGIN_API_AGE,
  PLUGIN_API_VERSION,
  ROOT_CALLER,
  unprivilegedCaller,
} from '@corral/core';
import { createTestKernel, makeTempDir } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { storageFlatPlugin as flatPluginApi1 } from './fixtures/storage-plugin-api1/index.js';

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

test('plugins written for API 1 and 2 are older but accepted by this core (API 3 only added optional members)', (t) => {
  t.is(checkPluginApiVersion(PLUGIN_API_VERSION), 'current');
  for (const v of [1, 2]) t.is(checkPluginApiVersion(v), 'older-accepted', `API ${v}`);
  t.is(checkPluginApiVersion(PLUGIN_API_VERSION + 1), 'too-new');
});

test('the storage plugin frozen at API 1 is still inside this core\'s window', (t) => {
  t.is(flatPluginApi1.apiVersion, 1);
  t.true(PLUGIN_API_VERSION - PLUGIN_API_AGE <= 1, `core accepts API ${PLUGIN_API_VERSION - PLUGIN_API_AGE} or newer: API 1 plugins are refused`);
});

test('the storage plugin frozen at API 1 loads, with the older-API warning', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [flatPluginApi1] });
  t.deepEqual(kernel.plugins.loaded, ['acme.storage-flat']);
  t.deepEqual(kernel.plugins.failed, []);
  t.is(kernel.plugins.warnings.length, 1);
  t.regex(kernel.plugins.warnings[0]!, new RegExp(`'acme\\.storage-flat' uses plugin API 1, older than ${PLUGIN_API_VERSION}`));
  const driver = kernel.extensions(extensionPoints.storageDrivers).get('flatdir');
  t.truthy(driver, 'storage type flatdir is registered');
  t.is(driver!.info.privilegedOptions, undefined, 'the fixture declares no privilegedOptions, as API 1 had none');
});

test('API 1 storage: only a privileged caller may add, change or remove it (every option counts as privileged)', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [flatPluginApi1] });
  const path = await makeTempDir(t, 'corral-flat-api1-');
  const other = await makeTempDir(t, 'corral-flat-api1-other-');
  const user = unprivilegedCaller('alice@pve');
  const refused = await t.throwsAsync(kernel.storage.add('flat', 'flatdir', { path }, { caller: user }), { instanceOf: PermissionError, code: ErrorCodes.permission });
  t.is(refused?.key, 'path');
  t.regex(refused?.message ?? '', /alice@pve.*not privileged/);
  t.deepEqual(await kernel.storage.list(), [], 'a refused add writes nothing');

  const added = await kernel.storage.add('flat', 'flatdir', { path }, { caller: ROOT_CALLER });
  t.is(added.options.path, path);
  t.deepEqual((await kernel.storage.list()).map((d) => [d.id, d.type, d.options.path]), [['flat', 'flatdir', path]]);
  const volid = await kernel.storage.allocate({ storage: 'flat', vmid: 100, sizeBytes: 4 * 1024 * 1024 });
  t.regex(volid, /^flat:/, 'root-defined storage works');

  for (const change of [{ path: other }, { nodes: 'testnode' }] as Record<string, string>[]) {
    const err = await t.throwsAsync(kernel.storage.update('flat', change, { caller: user }), { instanceOf: PermissionError });
    t.is(err?.key, Object.keys(change)[0]);
  }
  t.is((await kernel.storage.get('flat'))?.options.path, path, 'a refused update changes nothing');
  const updated = await kernel.storage.update('flat', { path: other }, { caller: ROOT_CALLER });
  t.is(updated.options.path, other);

  await t.throwsAsync(kernel.storage.remove('flat', { caller: user }), { instanceOf: PermissionError });
  t.deepEqual((await kernel.storage.list()).map((d) => d.id), ['flat']);
  await kernel.storage.remove('flat', { caller: ROOT_CALLER });
  t.deepEqual(await kernel.storage.list(), []);
});

// The whole storage-driver contract against the frozen API 1 plugin, as its own example test
// ran it when it was written (a second flatdir storage as the target of copies).
storageConformanceSuite(test, {
  name: 'flatdir at plugin API 1',
  foreignVolnames: ['vm-100-disk-0', 'tank/vm-100-disk-0', '100/vm-100-disk-0.qcow2', 'iso/debian.iso', '100/vm-101-disk-0.raw', '100/base-100-disk-0.raw'],
  setup: async (t) => {
    const kernel = await createTestKernel(t, { plugins: [flatPluginApi1] });
    await kernel.storage.add('under-test', 'flatdir', { path: await makeTempDir(t, 'corral-flat-api1-'), content: 'images' }, { caller: ROOT_CALLER });
    await kernel.storage.add('copy-target', 'flatdir', { path: await makeTempDir(t, 'corral-flat-api1-target-') }, { caller: ROOT_CALLER });
    return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
  },
});

import test from 'ava';
import {
  createServiceRef,
  definePlugin,
  ErrorCodes,
  extensionPoints,
  PLUGIN_API_VERSION,
  PluginInvalidError,
  type CorralPlugin,
} from '../../src/index.js';
import { createTestKernel, makeTempDir } from '../../src/testing/index.js';
import { fixturePlugin, installFixtures } from './fixtures.js';

const greeting = createServiceRef<string>({ id: 'fixture-valid.greeting' });
const echo = createServiceRef<string>({ id: 'fixture-dependent.echo' });

test('a valid plugin loads, provides its service and its extension', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [await fixturePlugin('corral-fixture-valid', 'validPlugin')] });
  t.deepEqual(kernel.plugins.loaded, ['fixture-valid']);
  t.deepEqual(kernel.plugins.failed, []);
  t.is(kernel.get(greeting), 'hello from testnode');
  t.true(kernel.extensions(extensionPoints.networkZones).has('fixture-zone'));
});

test('requires orders loading whatever the order given', async (t) => {
  const kernel = await createTestKernel(t, {
    plugins: [await fixturePlugin('corral-fixture-dependent', 'dependentPlugin'), await fixturePlugin('corral-fixture-valid', 'validPlugin')],
  });
  t.deepEqual(kernel.plugins.loaded, ['fixture-valid', 'fixture-dependent']);
  t.is(kernel.get(echo), 'hello from testnode (echoed)');
});

test('a plugin whose API is too new is refused with a coded error', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [await fixturePlugin('corral-fixture-api-too-new', 'tooNewPlugin')] });
  t.deepEqual(kernel.plugins.loaded, []);
  t.is(kernel.plugins.failed.length, 1);
  const err = kernel.plugins.failed[0]!.error!;
  t.is(err.code, ErrorCodes.pluginApiTooNew);
  t.regex(err.message, new RegExp(`needs plugin API ${PLUGIN_API_VERSION + 1}, this core provides ${PLUGIN_API_VERSION}`));
});

test('a plugin whose API is older than VERSION-AGE is refused', async (t) => {
  const kernel = await createTestKernel(t, {
    pluginApiWindow: { version: 3, age: 1 },
    plugins: [await fixturePlugin('corral-fixture-versioned', 'apiV1Plugin')],
  });
  t.deepEqual(kernel.plugins.loaded, []);
  t.is(kernel.plugins.failed[0]!.error!.code, ErrorCodes.pluginApiTooOld);
  t.regex(kernel.plugins.failed[0]!.error!.message, /accepts 2 or newer/);
});

test('an older but accepted plugin loads with a warning', async (t) => {
  const kernel = await createTestKernel(t, {
    pluginApiWindow: { version: 3, age: 1 },
    plugins: [await fixturePlugin('corral-fixture-versioned', 'apiV2Plugin'), await fixturePlugin('corral-fixture-versioned', 'apiV3Plugin')],
  });
  t.deepEqual(kernel.plugins.loaded, ['fixture-api-v2', 'fixture-api-v3']);
  t.is(kernel.plugins.warnings.length, 1);
  t.regex(kernel.plugins.warnings[0]!, /fixture-api-v2.*API 2, older than 3/);
  t.true(kernel.logger.lines.some((l) => l.level === 'warn' && l.message.includes('fixture-api-v2')));
});

test('a missing requirement is reported and the rest still loads', async (t) => {
  const kernel = await createTestKernel(t, {
    plugins: [await fixturePlugin('corral-fixture-missing-dependency', 'missingDependencyPlugin'), await fixturePlugin('corral-fixture-valid', 'validPlugin')],
  });
  t.deepEqual(kernel.plugins.loaded, ['fixture-valid']);
  const failed = kernel.plugins.failed.find((f) => f.id === 'fixture-missing-dependency');
  t.is(failed?.error?.code, ErrorCodes.pluginMissingDependency);
  t.regex(failed!.error!.message, /requires plugin 'does-not-exist'/);
});

test('a plugin that throws in register is skipped and leaves no registration behind', async (t) => {
  const throwing = await fixturePlugin('corral-fixture-throws', 'throwingPlugin');
  const kernel = await createTestKernel(t, { plugins: [throwing, await fixturePlugin('corral-fixture-valid', 'validPlugin')] });
  t.deepEqual(kernel.plugins.loaded, ['fixture-valid']);
  const failed = kernel.plugins.failed.find((f) => f.id === 'fixture-throws');
  t.is(failed?.error?.code, ErrorCodes.pluginLoadFailed);
  t.regex(failed!.error!.message, /boom in register/);
  t.is((failed!.error!.cause as Error).message, 'boom in register');
  const half = createServiceRef<string>({ id: 'fixture-throws.half' });
  t.throws(() => kernel.get(half), { code: ErrorCodes.serviceNotRegistered });
});

test('dependents of a failed plugin fail as missing a dependency', async (t) => {
  const broken = definePlugin({
    id: 'fixture-valid',
    apiVersion: PLUGIN_API_VERSION,
    register() {
      throw new Error('nope');
    },
  });
  const kernel = await createTestKernel(t, { plugins: [broken, await fixturePlugin('corral-fixture-dependent', 'dependentPlugin')] });
  t.deepEqual(kernel.plugins.loaded, []);
  t.is(kernel.plugins.failed.find((f) => f.id === 'fixture-dependent')?.error?.code, ErrorCodes.pluginMissingDependency);
});

test('plugins requiring each other in a cycle are refused', async (t) => {
  const a = definePlugin({ id: 'cycle-a', apiVersion: PLUGIN_API_VERSION, requires: ['cycle-b'], register() {} });
  const b = definePlugin({ id: 'cycle-b', apiVersion: PLUGIN_API_VERSION, requires: ['cycle-a'], register() {} });
  const kernel = await createTestKernel(t, { plugins: [a, b] });
  t.deepEqual(kernel.plugins.loaded, []);
  for (const f of kernel.plugins.failed) t.is(f.error?.code, ErrorCodes.pluginDependencyCycle);
  t.regex(kernel.plugins.failed[0]!.error!.message, /cycle-a -> cycle-b -> cycle-a|cycle-b -> cycle-a -> cycle-b/);
});

test('discovery finds plugin packages through their package.json block', async (t) => {
  const root = await makeTempDir(t);
  await installFixtures(root, ['corral-fixture-valid', 'corral-fixture-dependent', 'corral-fixture-broken-import', 'corral-fixture-no-plugin']);
  const kernel = await createTestKernel(t, { discover: [root] });
  t.deepEqual(kernel.plugins.loaded, ['fixture-valid', 'fixture-dependent']);
  t.is(kernel.get(echo), 'hello from testnode (echoed)');
  const broken = kernel.plugins.failed.find((f) => f.id === 'corral-fixture-broken-import');
  t.is(broken?.error?.code, ErrorCodes.pluginLoadFailed);
  t.regex(broken!.error!.message, /boom at import/);
  t.is(kernel.plugins.failed.find((f) => f.id === 'corral-fixture-no-plugin')?.error?.code, ErrorCodes.pluginInvalid);
});

test('an explicit plugin wins over a discovered one with the same id', async (t) => {
  const root = await makeTempDir(t);
  await installFixtures(root, ['corral-fixture-valid']);
  const mine = definePlugin({
    id: 'fixture-valid',
    apiVersion: PLUGIN_API_VERSION,
    register(env) {
      env.provide(greeting, { value: 'explicit' });
    },
  });
  const kernel = await createTestKernel(t, { plugins: [mine], discover: [root] });
  t.is(kernel.get(greeting), 'explicit');
});

test('definePlugin refuses malformed definitions with coded errors', (t) => {
  const bad: Array<[string, unknown]> = [
    ['bad id', { id: 'Bad Id', apiVersion: 1, register() {} }],
    ['non-integer apiVersion', { id: 'x', apiVersion: 1.5, register() {} }],
    ['missing register', { id: 'x', apiVersion: 1 }],
    ['requires itself', { id: 'x', apiVersion: 1, requires: ['x'], register() {} }],
  ];
  for (const [description, def] of bad) {
    const err = t.throws(() => definePlugin(def as never), { instanceOf: PluginInvalidError }, description);
    t.is(err?.code, ErrorCodes.pluginInvalid, description);
  }
});

test('a plugin may not provide a service that exists already', async (t) => {
  const dup: CorralPlugin = definePlugin({
    id: 'dup',
    apiVersion: PLUGIN_API_VERSION,
    register(env) {
      env.provide(greeting, { value: 'first' });
      env.provide(greeting, { value: 'second' });
    },
  });
  const kernel = await createTestKernel(t, { plugins: [await fixturePlugin('corral-fixture-valid', 'validPlugin'), dup] });
  t.is(kernel.plugins.failed.find((f) => f.id === 'dup')?.error?.code, ErrorCodes.pluginLoadFailed);
  t.is(kernel.get(greeting), 'hello from testnode');
});

test('dispose runs plugin cleanups in reverse order and is idempotent', async (t) => {
  const order: string[] = [];
  const mk = (id: string) =>
    definePlugin({
      id,
      apiVersion: PLUGIN_API_VERSION,
      register(env) {
        env.onDispose(() => order.push(id));
      },
    });
  const kernel = await createTestKernel(undefined, { plugins: [mk('first'), mk('second')] });
  await kernel.dispose();
  await kernel.dispose();
  t.deepEqual(order, ['second', 'first']);
  t.throws(() => kernel.get(greeting), { code: ErrorCodes.disposed });
});

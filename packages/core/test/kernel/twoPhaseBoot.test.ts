import test from 'ava';
import { join } from 'node:path';
import {
  coreServices,
  createKernel,
  definePlugin,
  ErrorCodes,
  HostLockManager,
  InfrastructureConflictError,
  LocalConfigStore,
  PluginLoadFailedError,
  type ConfigChange,
  type ConfigFile,
  type ConfigStore,
  type ConfigWriteOptions,
} from '../../src/index.js';
import { makeTempDir } from '../../src/testing/index.js';

/** A config store that records each call and hands it to a LocalConfigStore. */
class RecordingConfigStore implements ConfigStore {
  readonly calls: string[] = [];
  constructor(readonly inner: LocalConfigStore) {}
  read(path: string): Promise<ConfigFile | null> {
    this.calls.push(`read ${path}`);
    return this.inner.read(path);
  }
  write(path: string, content: string, options?: ConfigWriteOptions): Promise<string> {
    this.calls.push(`write ${path}`);
    return this.inner.write(path, content, options);
  }
  delete(path: string, options?: { expectedDigest?: string }): Promise<boolean> {
    this.calls.push(`delete ${path}`);
    return this.inner.delete(path, options);
  }
  list(dir: string): Promise<string[]> {
    this.calls.push(`list ${dir}`);
    return this.inner.list(dir);
  }
  listDirs(dir: string): Promise<string[]> {
    this.calls.push(`listDirs ${dir}`);
    return this.inner.listDirs(dir);
  }
  readAll(dir: string, suffix?: string): Promise<ConfigFile[]> {
    this.calls.push(`readAll ${dir}`);
    return this.inner.readAll(dir, suffix);
  }
  watch(prefix: string, onChange: (change: ConfigChange) => void): () => void {
    this.calls.push(`watch ${prefix}`);
    return this.inner.watch(prefix, onChange);
  }
}

const dirs = async (t: Parameters<typeof makeTempDir>[0]) => {
  const dir = await makeTempDir(t);
  return { dataDir: join(dir, 'data'), runDir: join(dir, 'run'), storeDir: join(dir, 'store') };
};

test('a config store supplied by a plugin is the one kernel.config, the service and the guests facade use', async (t) => {
  const d = await dirs(t);
  const store = new RecordingConfigStore(new LocalConfigStore({ root: d.storeDir }));
  const plugin = definePlugin({
    id: 'test-config-store',
    apiVersion: 3,
    registerInfrastructure: (env) => env.provide(coreServices.configStore, { value: store }),
    register: () => {},
  });
  const kernel = await createKernel({ node: 'n1', dataDir: d.dataDir, runDir: d.runDir, plugins: [plugin] });
  t.teardown(() => kernel.dispose());
  t.deepEqual(kernel.plugins.loaded, ['test-config-store']);
  t.is(kernel.config, store);
  t.is(kernel.get(coreServices.configStore), store);
  // A guest config written straight into the plugin's store is what the facade lists.
  await store.inner.write('nodes/n1/qemu-server/100.conf', 'name: from-plugin-store\nmemory: 512\n');
  store.calls.length = 0;
  const guests = await kernel.guests.list();
  t.deepEqual(
    guests.map((g) => [g.vmid, g.type, g.name]),
    [[100, 'qemu', 'from-plugin-store']],
  );
  t.true(store.calls.some((c) => c.startsWith('readAll nodes/n1/qemu-server')), store.calls.join('; '));
  t.is(await new LocalConfigStore({ root: d.dataDir }).read('nodes/n1/qemu-server/100.conf'), null, 'nothing in the data dir store');
});

test('infrastructure factories run after phase one and may get each other; bootstrap services are there in phase one', async (t) => {
  const d = await dirs(t);
  const order: string[] = [];
  let lockSeenStore: ConfigStore | undefined;
  const storePlugin = definePlugin({
    id: 'test-store',
    apiVersion: 3,
    registerInfrastructure: (env) => {
      t.truthy(env.get(coreServices.commandRunner));
      t.throws(() => env.get(coreServices.guests), { code: ErrorCodes.serviceNotRegistered });
      order.push('store infra');
      env.provide(coreServices.configStore, { factory: () => new LocalConfigStore({ root: d.storeDir }) });
    },
    register: () => void order.push('store register'),
  });
  const lockPlugin = definePlugin({
    id: 'test-locks',
    apiVersion: 3,
    requires: ['test-store'],
    registerInfrastructure: (env) => {
      order.push('locks infra');
      env.provide(coreServices.lockManager, {
        factory: () => {
          lockSeenStore = env.get(coreServices.configStore);
          return new HostLockManager({ namespace: `test-locks:${d.dataDir}` });
        },
      });
    },
    register: (env) => {
      order.push('locks register');
      t.truthy(env.get(coreServices.guests));
    },
  });
  const kernel = await createKernel({ node: 'n1', dataDir: d.dataDir, runDir: d.runDir, plugins: [lockPlugin, storePlugin] });
  t.teardown(() => kernel.dispose());
  t.deepEqual(order, ['store infra', 'locks infra', 'store register', 'locks register']);
  t.is(lockSeenStore, kernel.config);
  t.true(kernel.get(coreServices.lockManager) instanceof HostLockManager);
});

test('two plugins supplying a config store stop the kernel with a coded error naming both, after cleaning up', async (t) => {
  const d = await dirs(t);
  const disposed: string[] = [];
  const supplier = (id: string) =>
    definePlugin({
      id,
      apiVersion: 3,
      registerInfrastructure: (env) => {
        env.onDispose(() => disposed.push(id));
        env.provide(coreServices.configStore, { value: new LocalConfigStore({ root: d.storeDir }) });
      },
      register: () => {},
    });
  const err = await t.throwsAsync(createKernel({ node: 'n1', dataDir: d.dataDir, runDir: d.runDir, plugins: [supplier('store-a'), supplier('store-b')] }), {
    instanceOf: InfrastructureConflictError,
  });
  t.is(err?.code, ErrorCodes.infrastructureConflict);
  t.regex(err!.message, /core\.configStore.*plugin 'store-a'.*plugin 'store-b'/);
  t.deepEqual(disposed.sort(), ['store-a', 'store-b']);
});

test('a plugin supplying what the kernel options already set is a conflict too', async (t) => {
  const d = await dirs(t);
  const plugin = definePlugin({
    id: 'store-c',
    apiVersion: 3,
    registerInfrastructure: (env) => env.provide(coreServices.configStore, { value: new LocalConfigStore({ root: d.storeDir }) }),
    register: () => {},
  });
  const err = await t.throwsAsync(
    createKernel({ node: 'n1', ...d, configStore: new LocalConfigStore({ root: d.storeDir }), plugins: [plugin] }),
    { instanceOf: InfrastructureConflictError },
  );
  t.regex(err!.message, /kernel options and plugin 'store-c'/);
});

test('a failing registerInfrastructure stops the kernel; supplying a non-infrastructure service is refused', async (t) => {
  const d = await dirs(t);
  const failing = definePlugin({
    id: 'store-broken',
    apiVersion: 3,
    registerInfrastructure: () => {
      throw new Error('etcd unreachable');
    },
    register: () => {},
  });
  const err = await t.throwsAsync(createKernel({ node: 'n1', ...d, plugins: [failing] }), { instanceOf: PluginLoadFailedError });
  t.regex(err!.message, /store-broken.*etcd unreachable/);
  const wrongRef = definePlugin({
    id: 'wrong-ref',
    apiVersion: 3,
    registerInfrastructure: (env) => env.provide(coreServices.guests, { value: undefined as never }),
    register: () => {},
  });
  const err2 = await t.throwsAsync(createKernel({ node: 'n1', ...d, plugins: [wrongRef] }), { instanceOf: PluginLoadFailedError });
  t.is((err2!.cause as { code?: string }).code, ErrorCodes.invalidArgument);
  t.regex(err2!.message, /core\.guests' is not kernel infrastructure/);
});

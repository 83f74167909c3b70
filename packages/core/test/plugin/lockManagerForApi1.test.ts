/**
 * Plugin API 2 changed what `LockManager.acquire` resolves to (a lease instead of a release
 * function). A plugin declaring API 1 still gets a lock manager whose result it can call.
 */
import test from 'ava';
import { coreServices, definePlugin, type LockManager } from '../../src/index.js';
import { createTestKernel } from '../../src/testing/index.js';

/** A plugin that keeps the lock manager it is given, declaring `apiVersion`. */
function lockUser(apiVersion: number) {
  const got: { locks?: LockManager } = {};
  const plugin = definePlugin({
    id: `fixture-locks-api${apiVersion}`,
    apiVersion,
    register(env) {
      got.locks = env.get(coreServices.lockManager);
    },
  });
  return { plugin, got };
}

test('an API 1 plugin releases a lock by calling what acquire returned, as API 1 did', async (t) => {
  const v1 = lockUser(1);
  const kernel = await createTestKernel(t, { plugins: [v1.plugin] });
  t.deepEqual(kernel.plugins.loaded, ['fixture-locks-api1']);
  const release = (await v1.got.locks!.acquire('fixture:a')) as unknown as () => Promise<void>;
  t.is(typeof release, 'function');
  // Held: the kernel's own lock manager cannot take it now.
  await t.throwsAsync(kernel.get(coreServices.lockManager).acquire('fixture:a', { timeoutMs: 0 }), { code: 'CORRAL_ERR_LOCK_TIMEOUT' });
  await release();
  const again = await kernel.get(coreServices.lockManager).acquire('fixture:a', { timeoutMs: 0 });
  await again.release();
});

test('the API 1 lease is also a current lease, and withLock runs as before', async (t) => {
  const v1 = lockUser(1);
  await createTestKernel(t, { plugins: [v1.plugin] });
  const lease = await v1.got.locks!.acquire('fixture:b', { mode: 'shared' });
  t.is(lease.name, 'fixture:b');
  t.is(lease.mode, 'shared');
  t.false(lease.lost.aborted);
  await lease.release();
  t.is(await v1.got.locks!.withLock('fixture:b', () => 42), 42);
});

test('a current plugin gets the kernel\'s lock manager itself', async (t) => {
  const v2 = lockUser(2);
  const kernel = await createTestKernel(t, { plugins: [v2.plugin] });
  t.is(v2.got.locks, kernel.get(coreServices.lockManager));
});

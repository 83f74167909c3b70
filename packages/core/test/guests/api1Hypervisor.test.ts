/**
 * A hypervisor driver written for plugin API 1 has no `privilegedUses`: every key it is asked
 * to set counts as privileged, so an unprivileged caller cannot create or change its guests,
 * and root can.
 */
import test from 'ava';
import { definePlugin, extensionPoints, PermissionError, ROOT_CALLER, unprivilegedCaller, type HypervisorDriver } from '../../src/index.js';
import { createTestKernel } from '../../src/testing/createTestKernel.js';

/** Just enough of an API 1 `qemu` driver to create and update a stopped guest without disks. */
const api1Driver = {
  info: { type: 'qemu', configDir: 'qemu-server', snapshotWithState: false, suspendToDisk: false, consoles: [] },
  validate: () => undefined,
  volumes: () => [],
  volumeRequests: () => [],
  replaceVolume: (_key: string, value: string) => value,
  status: async () => ({ state: 'stopped' }),
} as unknown as HypervisorDriver;

const api1Plugin = definePlugin({
  id: 'fixture-hypervisor-api1',
  apiVersion: 1,
  register(env) {
    env.extend(extensionPoints.hypervisors, 'qemu', api1Driver);
  },
});

test('API 1 hypervisor: an unprivileged caller cannot create or update its guests; root can', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [api1Plugin] });
  t.deepEqual(kernel.plugins.loaded, ['fixture-hypervisor-api1']);
  const user = unprivilegedCaller('alice@pve');

  const refused = await t.throwsAsync(kernel.guests.create('qemu', { memory: 512, name: 'web' }, { vmid: 100, caller: user }), { instanceOf: PermissionError });
  t.is(refused?.key, 'memory');
  t.regex(refused?.message ?? '', /plugin API 1/);
  t.deepEqual(await kernel.guests.list(), [], 'a refused create leaves nothing');

  await kernel.guests.create('qemu', { memory: 512, name: 'web' }, { vmid: 100, caller: ROOT_CALLER });
  t.like((await kernel.guests.config(100)).config, { memory: '512', name: 'web' });

  await t.throwsAsync(kernel.guests.update(100, { set: { name: 'renamed' } }, { caller: user }), { instanceOf: PermissionError });
  t.like((await kernel.guests.config(100)).config, { name: 'web' });
  await kernel.guests.update(100, { set: { name: 'renamed' } }, { caller: ROOT_CALLER });
  t.like((await kernel.guests.config(100)).config, { name: 'renamed' });
});

/**
 * A guest type that core does not know, added by a plugin: its driver's info names its config
 * dir, task prefix and dialect, and create, list and destroy work on its configs end to end.
 */
import test from 'ava';
import {
  AlreadyExistsError,
  definePlugin,
  extensionPoints,
  InvalidArgumentError,
  ROOT_CALLER,
  type HypervisorDriver,
  type HypervisorInfo,
} from '../../src/index.js';
import { createTestKernel } from '../../src/testing/createTestKernel.js';
import { configOnlyDriver } from './fixtures/configOnlyDriver.js';

/** A driver of a third-party type (`acme-box`, configs in `acme-box/`, tasks `box<op>`). */
function boxDriver(info: Partial<HypervisorInfo> = {}): HypervisorDriver {
  return configOnlyDriver({ type: 'acme-box', configDir: 'acme-box', taskPrefix: 'box', ...info });
}

const boxPlugin = (driver: HypervisorDriver) =>
  definePlugin({
    id: 'acme.box',
    apiVersion: 3,
    register(env) {
      env.extend(extensionPoints.hypervisors, 'acme-box', driver);
    },
  });

test('a plugin guest type: create writes nodes/<node>/<its configDir>, list shows it, destroy removes it; ids are shared with qemu/lxc', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [boxPlugin(boxDriver())] });
  t.deepEqual(kernel.plugins.loaded, ['acme.box']);
  await kernel.config.write('nodes/testnode/qemu-server/100.conf', 'name: vm\n');

  const created = await kernel.guests.create('acme-box', { name: 'b1', net0: 'name=eth0,bridge=vmbr0' }, { caller: ROOT_CALLER });
  t.is(created.vmid, 101, 'the next id after the qemu guest');
  t.regex(created.upid, /:boxcreate:101:/, 'task type from the info’s taskPrefix');
  const file = await kernel.config.read('nodes/testnode/acme-box/101.conf');
  t.truthy(file);
  t.regex(file!.content, /^name: b1$/m);
  t.regex(file!.content, /^net0: name=eth0,bridge=vmbr0$/m, 'no nicMacFormat: core leaves netN alone');
  t.deepEqual(
    (await kernel.guests.list()).map((g) => [g.vmid, g.type, g.name]),
    [
      [100, 'qemu', 'vm'],
      [101, 'acme-box', 'b1'],
    ],
  );
  t.deepEqual((await kernel.guests.list({ type: 'acme-box' })).map((g) => g.vmid), [101]);
  await t.throwsAsync(kernel.guests.create('acme-box', { name: 'b2' }, { vmid: 100, caller: ROOT_CALLER }), { instanceOf: AlreadyExistsError });

  const destroyed = await kernel.guests.destroy(101, { caller: ROOT_CALLER });
  t.regex(destroyed.upid, /:boxdestroy:101:/);
  t.is(await kernel.config.read('nodes/testnode/acme-box/101.conf'), null);
  t.deepEqual((await kernel.guests.list()).map((g) => g.vmid), [100]);
});

test('a plugin type may take a built-in net format: its NICs get MACs in that format', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [boxPlugin(boxDriver({ nicMacFormat: 'lxc', configDialect: 'lxc' }))] });
  await kernel.guests.create('acme-box', { hostname: 'b1', net0: 'name=eth0,bridge=vmbr0' }, { vmid: 200, caller: ROOT_CALLER });
  const file = await kernel.config.read('nodes/testnode/acme-box/200.conf');
  t.regex(file!.content, /^net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$/m);
});

test('a driver whose info does not match its key, or has no usable config dir, is refused with a coded error naming the type', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [boxPlugin(boxDriver({ type: 'other' }))] });
  const err = await t.throwsAsync(kernel.guests.create('acme-box', { name: 'x' }, { caller: ROOT_CALLER }), { instanceOf: InvalidArgumentError });
  t.regex(err!.message, /registered as 'acme-box' says its type is 'other'/);
  t.deepEqual(await kernel.guests.list(), []);
  const k2 = await createTestKernel(t, { plugins: [boxPlugin(boxDriver({ configDir: '../etc' }))] });
  await t.throwsAsync(k2.guests.create('acme-box', { name: 'x' }, { caller: ROOT_CALLER }), { instanceOf: InvalidArgumentError, message: /configDir '\.\.\/etc'/ });
});

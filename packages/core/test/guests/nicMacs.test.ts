/**
 * A NIC given without a MAC gets one written into the config at create and update, for both
 * guest types (Proxmox's `BC:24:11` prefix, as qemu-server and pct do); a given MAC is kept.
 */
import test from 'ava';
import { definePlugin, extensionPoints, ROOT_CALLER, type HypervisorDriver } from '../../src/index.js';
import { createTestKernel } from '../../src/testing/createTestKernel.js';
import { configOnlyDriver } from './fixtures/configOnlyDriver.js';

/** The driver of a built-in type, with its Proxmox config dir. */
function driverOf(type: 'qemu' | 'lxc'): HypervisorDriver {
  return configOnlyDriver({ type, configDir: type === 'qemu' ? 'qemu-server' : 'lxc' });
}

const plugin = definePlugin({
  id: 'fixture-mac-guests',
  apiVersion: 3,
  register(env) {
    env.extend(extensionPoints.hypervisors, 'qemu', driverOf('qemu'));
    env.extend(extensionPoints.hypervisors, 'lxc', driverOf('lxc'));
  },
});

const MAC = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/;

test('qemu: create and update write virtio=BC:24:11:xx:xx:xx into a NIC without MAC; a given MAC stays as written', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [plugin] });
  await kernel.guests.create('qemu', { net0: 'virtio,bridge=vmbr0,firewall=1', net1: 'e1000=bc:24:11:00:00:01,bridge=vmbr1' }, { vmid: 100, caller: ROOT_CALLER });
  const c = (await kernel.guests.config(100)).config;
  t.regex(c.net0!, /^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,firewall=1$/);
  t.is(c.net1, 'e1000=bc:24:11:00:00:01,bridge=vmbr1');
  await kernel.guests.update(100, { set: { net2: 'model=rtl8139,bridge=vmbr0', name: 'x' } }, { caller: ROOT_CALLER });
  const u = (await kernel.guests.config(100)).config;
  t.regex(u.net2!, /^rtl8139=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
  t.is(u.net0, c.net0, 'an untouched NIC keeps its MAC');
  t.not(u.net2!.split(',')[0], c.net0!.split(',')[0]);
});

test('lxc: create and update write hwaddr=BC:24:11:... (the path containers always had, now shared with VMs)', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [plugin] });
  await kernel.guests.create('lxc', { net0: 'name=eth0,bridge=vmbr0,ip=dhcp' }, { vmid: 200, caller: ROOT_CALLER });
  const c = (await kernel.guests.config(200)).config;
  const hw = /hwaddr=([^,]+)/.exec(c.net0!)?.[1];
  t.truthy(hw && MAC.test(hw) && hw.startsWith('BC:24:11:'), c.net0);
  await kernel.guests.update(200, { set: { net1: 'name=eth1,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC' } }, { caller: ROOT_CALLER });
  t.is((await kernel.guests.config(200)).config.net1, 'name=eth1,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC');
});

test('a NIC value that does not parse is InvalidConfigError naming the key; nothing is created', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [plugin] });
  const err = await t.throwsAsync(kernel.guests.create('qemu', { net0: 'nosuchmodel,bridge=vmbr0' }, { vmid: 101, caller: ROOT_CALLER }), { code: 'CORRAL_ERR_INVALID_CONFIG' });
  t.is((err as unknown as { key: string }).key, 'net0');
  t.deepEqual(await kernel.guests.list(), []);
});

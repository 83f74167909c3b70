/**
 * HaConfigManager (`ha-manager`-like facade) on a real kernel's config store (files on disk).
 */
import test from 'ava';
import { ErrorCodes, type ConfigStore, type CorralError } from '@corral/core';
import { createTestKernel } from '@corral/core/testing';
import { HA_GROUPS_PATH, HA_RESOURCES_PATH, HaConfigManager } from '../src/index.js';

async function setup(t: import('ava').ExecutionContext) {
  const kernel = await createTestKernel(t);
  return { kernel, ha: new HaConfigManager(kernel.config, { guests: kernel.guests }) };
}

async function writeGuest(store: ConfigStore, dir: 'qemu-server' | 'lxc', vmid: number): Promise<void> {
  const body = dir === 'lxc' ? 'arch: amd64\nostype: debian\nmemory: 128\n' : 'memory: 128\nname: ha-test\n';
  await store.write(`nodes/testnode/${dir}/${vmid}.conf`, body);
}

test('add, set and remove a resource: files written in Proxmox format', async (t) => {
  const { kernel, ha } = await setup(t);
  await writeGuest(kernel.config, 'qemu-server', 100);
  await ha.addGroup({ group: 'prefer1', nodes: [{ node: 'testnode', priority: 2 }, { node: 'other', priority: 0 }], restricted: true });
  t.is((await kernel.config.read(HA_GROUPS_PATH))!.content, 'group: prefer1\n\tnodes testnode:2,other\n\trestricted 1\n\n');

  await ha.addResource({ sid: 'vm:100', state: 'started', group: 'prefer1' });
  t.is((await kernel.config.read(HA_RESOURCES_PATH))!.content, 'vm: 100\n\tstate started\n\tgroup prefer1\n\n');

  await ha.setResource('vm:100', { maxRestart: 3, group: null, state: 'stopped' });
  t.is((await kernel.config.read(HA_RESOURCES_PATH))!.content, 'vm: 100\n\tstate stopped\n\tmax_restart 3\n\n');
  t.deepEqual(await ha.resources(), [{ sid: 'vm:100', state: 'stopped', maxRestart: 3, maxRelocate: 1 }]);

  await ha.removeResource('vm:100');
  t.deepEqual(await ha.listResources(), []);
  await ha.removeGroup('prefer1');
  t.deepEqual(await ha.listGroups(), []);
});

test('refused: duplicate resource, unknown group, missing or wrong-type guest; nothing written', async (t) => {
  const { kernel, ha } = await setup(t);
  await writeGuest(kernel.config, 'qemu-server', 100);
  await writeGuest(kernel.config, 'lxc', 200);
  await ha.addResource({ sid: 'vm:100' });
  await ha.addResource({ sid: 'ct:200' });
  const before = (await kernel.config.read(HA_RESOURCES_PATH))!.content;

  t.is((await t.throwsAsync<CorralError>(ha.addResource({ sid: 'vm:100' })))!.code, ErrorCodes.alreadyExists);
  const group = await t.throwsAsync<CorralError>(ha.addResource({ sid: 'vm:100', group: 'nosuch' }));
  t.is(group!.code, ErrorCodes.notFound);
  t.regex(group!.message, /ha group 'nosuch'/);
  t.is((await t.throwsAsync<CorralError>(ha.setResource('vm:100', { group: 'nosuch' })))!.code, ErrorCodes.notFound);
  const guest = await t.throwsAsync<CorralError>(ha.addResource({ sid: 'vm:101' }));
  t.is(guest!.code, ErrorCodes.notFound);
  t.regex(guest!.message, /no qemu guest 101/);
  t.is((await t.throwsAsync<CorralError>(ha.addResource({ sid: 'ct:100' })))!.code, ErrorCodes.notFound);
  t.is((await t.throwsAsync<CorralError>(ha.addResource({ sid: 'vm:200', maxRestart: -1 })))!.code, ErrorCodes.parse);
  t.is((await t.throwsAsync<CorralError>(ha.setResource('vm:999', { state: 'stopped' })))!.code, ErrorCodes.notFound);
  t.is((await t.throwsAsync<CorralError>(ha.removeResource('vm:999')))!.code, ErrorCodes.notFound);
  t.is((await kernel.config.read(HA_RESOURCES_PATH))!.content, before);
});

test('groups: duplicate refused, a group in use cannot be removed', async (t) => {
  const { kernel, ha } = await setup(t);
  await writeGuest(kernel.config, 'qemu-server', 100);
  await ha.addGroup({ group: 'g1', nodes: [{ node: 'testnode', priority: 0 }] });
  t.is((await t.throwsAsync<CorralError>(ha.addGroup({ group: 'g1', nodes: [{ node: 'x', priority: 0 }] })))!.code, ErrorCodes.alreadyExists);
  await ha.addResource({ sid: 'vm:100', group: 'g1' });
  t.is((await t.throwsAsync<CorralError>(ha.removeGroup('g1')))!.code, ErrorCodes.conflict);
  t.is((await t.throwsAsync<CorralError>(ha.removeGroup('g2')))!.code, ErrorCodes.notFound);
  t.is((await ha.listGroups()).length, 1);
});

test('a concurrent writer between read and write: the change is redone on the new content', async (t) => {
  const { kernel } = await setup(t);
  const store = kernel.config;
  let interfered = false;
  const racingWrite = async (path: string, content: string, options?: { expectedDigest?: string | null }) => {
    if (!interfered) {
      interfered = true;
      await store.write(HA_RESOURCES_PATH, 'ct: 300\n\n');
    }
    return store.write(path, content, options);
  };
  const racing = new Proxy(store, {
    get(target, prop) {
      if (prop === 'write') return racingWrite;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as ConfigStore;
  const ha = new HaConfigManager(racing);
  await ha.addResource({ sid: 'vm:100' });
  t.is((await store.read(HA_RESOURCES_PATH))!.content, 'ct: 300\n\nvm: 100\n\n');
});

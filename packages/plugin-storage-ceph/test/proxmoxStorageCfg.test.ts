/**
 * A Proxmox cluster's storage.cfg with rbd sections (monitors, data pool, namespace, `krbd`)
 * loads with the ceph plugin; the other types are definitions without a driver.
 */
import test from 'ava';
import { createTestKernel, PROXMOX_STORAGE_CFG_SAMPLES } from '@corral/core/testing';
import { rbdOptions, storageCephPlugin } from '../src/index.js';

const cluster = PROXMOX_STORAGE_CFG_SAMPLES.find((s) => /cluster/.test(s.name))!;

test("a cluster's rbd sections load with the ceph plugin and decode as Proxmox reads them", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin] });
  await kernel.config.write('storage.cfg', cluster.text);
  t.deepEqual((await kernel.storage.list()).map((d) => `${d.type}: ${d.id}`), cluster.sections);
  const vm = rbdOptions(await kernel.storage.get('ceph-vm'));
  t.is(vm.pool, 'vm-pool');
  t.false(vm.krbd);
  t.deepEqual(vm.monitors.map((m) => m.host), ['10.10.10.1', '10.10.10.2', '10.10.10.3']);
  const ext = rbdOptions(await kernel.storage.get('ceph-ext'));
  t.true(ext.krbd);
  t.is(ext.dataPool, 'ec-data');
  t.is(ext.namespace, 'tenant1');
  t.deepEqual(ext.monitors, [
    { host: '10.20.10.1', port: '6789' },
    { host: '10.20.10.2', port: '6789' },
    { host: 'fd00::3', port: '3300' },
  ]);
  t.true((await kernel.storage.get('ceph-vm')).shared);
  t.false((await kernel.storage.status('cephfs')).driver);
});

test('krbd written alone means true', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin] });
  await kernel.config.write('storage.cfg', 'rbd: rb\n\tpool p\n\tkrbd\n\n');
  t.true(rbdOptions(await kernel.storage.get('rb')).krbd);
});

/**
 * An image file a dying process left half written (no header yet, a torn qcow2 header) is
 * still the guest's volume: listed, adopted by rescan as unusedN, freed by destroy. Before,
 * the dir storage skipped it when listing, so it stayed on disk forever, seen by nothing.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT_CALLER } from '@corral/core';
import { openTestNode } from './support/nodeKernel.js';
import { checkStorageInvariants } from './support/storageInvariants.js';

test('half-written images are listed, adopted by rescan as unusedN and freed by destroy', async (t) => {
  const { kernel, base } = await openTestNode(t, 'corral-halfimg-');
  await kernel.guests.create('qemu', { memory: 64, kvm: 0, vga: 'none', scsi0: 'local:0.01,format=qcow2' }, { vmid: 100 });
  const dir = join(base, 'store', 'images', '100');
  t.true(existsSync(join(dir, 'vm-100-disk-0.qcow2')), 'the layout this test writes into');
  await writeFile(join(dir, 'vm-100-disk-1.qcow2'), '');
  await writeFile(join(dir, 'vm-100-disk-2.qcow2'), Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0]));
  const listed = (await kernel.storage.listVolumes('local', { vmid: 100 })).map((v) => v.volid);
  t.deepEqual(listed, ['local:100/vm-100-disk-0.qcow2', 'local:100/vm-100-disk-1.qcow2', 'local:100/vm-100-disk-2.qcow2']);
  t.deepEqual((await checkStorageInvariants(kernel)).orphans, ['local:100/vm-100-disk-1.qcow2', 'local:100/vm-100-disk-2.qcow2']);

  await kernel.guests.rescan({ caller: ROOT_CALLER });
  const { config } = await kernel.guests.config(100);
  t.is(config.unused0, 'local:100/vm-100-disk-1.qcow2');
  t.is(config.unused1, 'local:100/vm-100-disk-2.qcow2');
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });

  await kernel.guests.destroy(100);
  t.false(existsSync(dir), 'nothing of guest 100 is left on the storage');
});

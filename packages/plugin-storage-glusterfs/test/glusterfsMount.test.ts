/**
 * The driver against a real glusterd (its own network namespace, reached through a veth
 * route): activate FUSE-mounts the volume, images land on the brick, deactivate unmounts.
 */
import test from 'ava';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT_CALLER, readProcMounts } from '@corral/core';
import { createTestKernel } from '@corral/core/testing';
import { createStorageGlusterfsPlugin, isGlusterfsMounted } from '../src/index.js';
import { glusterRealTest, useGlusterServer } from './support/glusterFixture.js';

const realTest = glusterRealTest(test);
const gluster = useGlusterServer(test);

realTest.serial('activate mounts the volume with FUSE; images are files on the brick, listed and freed; deactivate unmounts', async (t) => {
  const server = gluster();
  const volume = server.volumes[0];
  const path = join(server.dir, 'mnt-mount-test');
  const kernel = await createTestKernel(t, { plugins: [createStorageGlusterfsPlugin()] });
  await kernel.storage.add('gl', 'glusterfs', { server: server.address, volume, path, content: 'images,iso' }, { caller: ROOT_CALLER });

  await kernel.storage.activate('gl');
  const mounts = await readProcMounts();
  t.true(isGlusterfsMounted(volume, path, mounts));
  t.true(mounts.some((m) => m.target === path && m.fstype === 'fuse.glusterfs' && m.source === `${server.address}:${volume}`));
  t.true((await kernel.storage.status('gl')).active);
  t.true((await stat(join(server.dir, 'bricks', volume, 'template', 'iso'))).isDirectory(), 'content directories are created in the volume');

  const raw = await kernel.storage.allocate({ storage: 'gl', vmid: 4200, sizeBytes: 4 * 2 ** 20, format: 'raw' });
  const qcow2 = await kernel.storage.allocate({ storage: 'gl', vmid: 4200, sizeBytes: 64 * 2 ** 20, format: 'qcow2' });
  t.is(raw, 'gl:4200/vm-4200-disk-0.raw');
  t.is(qcow2, 'gl:4200/vm-4200-disk-1.qcow2');
  const onBrick = join(server.dir, 'bricks', volume, 'images', '4200');
  t.is((await stat(join(onBrick, 'vm-4200-disk-0.raw'))).size, 4 * 2 ** 20, 'the raw image is on the brick');
  t.is((await stat(join(onBrick, 'vm-4200-disk-1.qcow2'))).size % 512, 0, 'the qcow2 ends on a 512-byte boundary');
  t.deepEqual(
    (await kernel.storage.listVolumes('gl', { vmid: 4200 })).map((v) => [v.volid, v.format, v.sizeBytes]),
    [
      [raw, 'raw', 4 * 2 ** 20],
      [qcow2, 'qcow2', 64 * 2 ** 20],
    ]
  );
  await kernel.storage.free(raw);
  await kernel.storage.free(qcow2);
  await t.throwsAsync(stat(join(onBrick, 'vm-4200-disk-0.raw')), { code: 'ENOENT' });
  t.deepEqual(await kernel.storage.listVolumes('gl', { vmid: 4200 }), []);

  await kernel.storage.deactivate('gl');
  t.false(isGlusterfsMounted(volume, path, await readProcMounts()));
});

realTest.serial('a second activation of a mounted volume (another kernel, concurrently) keeps the one mount', async (t) => {
  const server = gluster();
  const volume = server.volumes[1];
  const path = join(server.dir, 'mnt-twice');
  const kernels = await Promise.all([0, 1].map(() => createTestKernel(t, { plugins: [createStorageGlusterfsPlugin()] })));
  for (const k of kernels) await k.storage.add('gl', 'glusterfs', { server: server.address, volume, path }, { caller: ROOT_CALLER });
  await Promise.all(kernels.map((k) => k.storage.activate('gl')));
  t.is((await readProcMounts()).filter((m) => m.target === path).length, 1);
  await kernels[0]!.storage.deactivate('gl');
  t.false(isGlusterfsMounted(volume, path, await readProcMounts()));
});

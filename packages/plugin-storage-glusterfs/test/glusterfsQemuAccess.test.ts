/**
 * A real QEMU (qemu-img with the Debian `qemu-block-extra` gluster driver) opens what the
 * driver resolves for consumer `qemu`: a linked clone through its `gluster://` URL (the
 * relative backing file resolved by libgfapi inside the volume), and the template's `-blockdev`
 * node with the snapshot taken before it became a template. Each libgfapi open takes about
 * 10 s here, so the test opens twice.
 */
import test from 'ava';
import { join } from 'node:path';
import { ROOT_CALLER } from '@corral/core';
import { createTestKernel, runToolOk } from '@corral/core/testing';
import { createStorageGlusterfsPlugin } from '../src/index.js';
import { glusterRealTest, useGlusterServer } from './support/glusterFixture.js';

const realTest = glusterRealTest(test);
const gluster = useGlusterServer(test);

interface ImageInfo {
  readonly filename: string;
  readonly format: string;
  readonly 'virtual-size': number;
  readonly 'backing-filename'?: string;
  readonly snapshots?: ReadonlyArray<{ readonly name: string }>;
}

realTest.serial('QEMU opens a linked clone by its gluster:// URL and the template by its gluster blockdev', async (t) => {
  const server = gluster();
  const volume = server.volumes[0];
  const kernel = await createTestKernel(t, { plugins: [createStorageGlusterfsPlugin()] });
  await kernel.storage.add('gl', 'glusterfs', { server: server.address, volume, path: join(server.dir, 'mnt-qemu'), content: 'images' }, { caller: ROOT_CALLER });

  const disk = await kernel.storage.allocate({ storage: 'gl', vmid: 4300, sizeBytes: 256 * 2 ** 20, format: 'qcow2' });
  await kernel.storage.snapshotCreate(disk, 'before-template');
  const base = await kernel.storage.createBase(disk);
  const clone = await kernel.storage.cloneLinked(base, { vmid: 4301 });
  t.is(clone, 'gl:4300/base-4300-disk-0.qcow2/4301/vm-4301-disk-0.qcow2');

  const cloneAccess = await kernel.storage.resolve(clone, { consumer: 'qemu' });
  if (cloneAccess.kind !== 'qemu') return t.fail(`a linked clone resolved to ${cloneAccess.kind}`);
  const cloneUrl = `gluster://${server.address}/${volume}/images/4301/vm-4301-disk-0.qcow2`;
  t.is(cloneAccess.url, cloneUrl);
  const chain = JSON.parse((await runToolOk(['qemu-img', 'info', '--backing-chain', '--output=json', cloneAccess.url], { timeoutMs: 180_000 })).stdout) as ImageInfo[];
  t.deepEqual(
    chain.map((i) => [i.filename, i.format, i['virtual-size']]),
    [
      [cloneUrl, 'qcow2', 256 * 2 ** 20],
      [`gluster://${server.address}/${volume}/images/4301/../4300/base-4300-disk-0.qcow2`, 'qcow2', 256 * 2 ** 20],
    ]
  );
  t.is(chain[0]!['backing-filename'], '../4300/base-4300-disk-0.qcow2');

  const baseAccess = await kernel.storage.resolve(base, { consumer: 'qemu' });
  if (baseAccess.kind !== 'qemu') return t.fail(`the template resolved to ${baseAccess.kind}`);
  t.deepEqual(baseAccess.blockdev, {
    driver: 'gluster',
    volume,
    path: 'images/4300/base-4300-disk-0.qcow2',
    server: [{ type: 'inet', host: server.address, port: '24007' }],
  });
  const spec = `json:${JSON.stringify({ driver: baseAccess.format, file: baseAccess.blockdev })}`;
  const info = JSON.parse((await runToolOk(['qemu-img', 'info', '--output=json', spec], { timeoutMs: 180_000 })).stdout) as ImageInfo;
  t.is(info['virtual-size'], 256 * 2 ** 20);
  t.deepEqual(info.snapshots?.map((s) => s.name), ['before-template']);

  await kernel.storage.free(clone);
  await kernel.storage.free(base);
  await kernel.storage.deactivate('gl');
});

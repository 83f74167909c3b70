/**
 * The storage.cfg Proxmox's installer writes for a ZFS install (`local` dir + `local-zfs`
 * zfspool with the bare `sparse` flag), and a cluster's zfspool, load with the zfs plugin.
 */
import test from 'ava';
import { createTestKernel, PROXMOX_STORAGE_CFG_SAMPLES } from '@corral/core/testing';
import { storageZfsPlugin, ZfsStorageDriver, zfsOptions } from '../src/index.js';

const sample = (name: RegExp) => PROXMOX_STORAGE_CFG_SAMPLES.find((s) => name.test(s.name))!;

test("the installer's ZFS storage.cfg loads: local-zfs is sparse (the key alone), local has no driver here", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageZfsPlugin] });
  await kernel.config.write('storage.cfg', sample(/installer default, ZFS/).text);
  t.deepEqual((await kernel.storage.list()).map((d) => d.id), ['local', 'local-zfs']);
  const def = await kernel.storage.get('local-zfs');
  t.deepEqual(def.content, ['images', 'rootdir']);
  const o = zfsOptions(def);
  t.true(o.sparse);
  t.true(new ZfsStorageDriver().infoFor(def).thin, 'the bare sparse flag makes the storage thin');
  t.is(o.pool, 'rpool/data');
  const local = await kernel.storage.status('local');
  t.false(local.driver);
  t.false(local.active);
});

test("a cluster's zfspool (blocksize, bwlimit, sparse 1, nodes) loads with the zfs plugin", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageZfsPlugin] });
  await kernel.config.write('storage.cfg', sample(/cluster/).text);
  const def = await kernel.storage.get('tank');
  const o = zfsOptions(def);
  t.true(o.sparse);
  t.is(o.blocksizeBytes, 16 * 1024);
  t.deepEqual(def.nodes, ['pve2']);
  t.is(def.options.bwlimit, 'default=512000');
  t.is((await kernel.storage.list()).length, sample(/cluster/).sections.length);
});

test('a zfspool section with sparse 0, off or no is not sparse', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageZfsPlugin] });
  for (const v of ['0', 'off', 'no', 'false']) {
    await kernel.config.write('storage.cfg', `zfspool: zp\n\tpool tank\n\tsparse ${v}\n\n`);
    const def = await kernel.storage.get('zp');
    t.false(zfsOptions(def).sparse, v);
    t.false(new ZfsStorageDriver().infoFor(def).thin, v);
  }
});

import test from 'ava';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { checkStorageCfgSamplesLoad, createTestKernel } from '@corral/core/testing';
import { GLUSTERFS_STORAGE_INFO, glusterfsSpec, storageGlusterfsPlugin } from '../src/index.js';

test('bad glusterfs definitions are InvalidConfigError naming the option', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageGlusterfsPlugin] });
  const base = { server: '10.0.0.7', volume: 'gv0', path: '/mnt/pve/gl' };
  const cases: Array<[Record<string, string>, string]> = [
    [{ server: '10.0.0.7', path: '/mnt/pve/gl' }, 'volume'],
    [{ server: '10.0.0.7', volume: 'gv0' }, 'path'],
    [{ ...base, path: 'mnt' }, 'path'],
    [{ ...base, volume: 'gv0;rm' }, 'volume'],
    [{ ...base, volume: '-gv0' }, 'volume'],
    [{ ...base, server: 'bad host!' }, 'server'],
    [{ ...base, server2: 'bad host!' }, 'server2'],
    [{ volume: 'gv0', path: '/mnt/pve/gl', server2: '10.0.0.8' }, 'server2'],
    [{ ...base, transport: 'udp' }, 'transport'],
    [{ ...base, format: 'vmdk' }, 'format'],
    [{ ...base, options: 'ro' }, 'options'],
    [{ ...base, 'content-dirs': 'iso=isos' }, 'content-dirs'],
  ];
  for (const [options, key] of cases) {
    const err = await t.throwsAsync(kernel.storage.add('bad', 'glusterfs', options, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig }, JSON.stringify(options));
    t.is((err as { key?: string }).key, key, JSON.stringify(options));
  }
  for (const transport of ['tcp', 'rdma', 'unix']) {
    await kernel.storage.add(`ok-${transport}`, 'glusterfs', { ...base, transport }, { caller: ROOT_CALLER });
  }
  t.is((await kernel.storage.list()).length, 3);
});

test('the server defaults to localhost; path, server, server2, volume and transport are privileged', async (t) => {
  const def = { id: 'gl', type: 'glusterfs', content: [], nodes: [], disabled: false, shared: true, options: { volume: 'gv0', path: '/mnt/pve/gl' } } as const;
  t.deepEqual(glusterfsSpec(def), { server: 'localhost', volume: 'gv0', path: '/mnt/pve/gl' });
  t.deepEqual([...GLUSTERFS_STORAGE_INFO.privilegedOptions!].sort(), ['path', 'server', 'server2', 'transport', 'volume']);
  const kernel = await createTestKernel(t, { plugins: [storageGlusterfsPlugin] });
  await t.throwsAsync(kernel.storage.add('gl', 'glusterfs', { volume: 'gv0', path: '/mnt/pve/gl' }), { code: ErrorCodes.permission });
});

test("Proxmox's storage.cfg files load with the glusterfs plugin; the glusterfs section is read by its driver", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageGlusterfsPlugin] });
  await checkStorageCfgSamplesLoad(t, kernel, ['gluster']);
  t.false(kernel.logger.lines.some((l) => /broken section/.test(l.message)));
});

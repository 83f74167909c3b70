/**
 * storage.cfg as Proxmox VE writes it (the installer's defaults, a cluster with every storage
 * type, a VE 6 file: core's PROXMOX_STORAGE_CFG_SAMPLES) loads with this plugin: every section
 * is listed and none is refused by the driver's option schema. Nothing is activated.
 */
import test from 'ava';
import { checkStorageCfgSamplesLoad, createTestKernel } from '@corral/core/testing';
import { BTRFS_STORAGE_INFO, btrfsInfoFor, btrfsOptions, storageBtrfsPlugin } from '../src/index.js';

test("Proxmox's storage.cfg files load with the btrfs plugin; its sections are read by its driver", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageBtrfsPlugin] });
  await checkStorageCfgSamplesLoad(t, kernel, ['local-btrfs', 'fast']);
  t.false(kernel.logger.lines.some((l) => /broken section/.test(l.message)));
});

test('btrfs flags take Proxmox booleans: nocow and quotas written alone mean true, off means false', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageBtrfsPlugin] });
  await kernel.config.write('storage.cfg', 'btrfs: bare\n\tpath /srv/bare\n\tnocow\n\tquotas\n\nbtrfs: off\n\tpath /srv/off\n\tnocow off\n\tquotas no\n\n');
  const bare = await kernel.storage.get('bare');
  t.true(btrfsOptions(bare).nocow);
  t.true(btrfsOptions(bare).quotas);
  t.is(btrfsInfoFor(bare), BTRFS_STORAGE_INFO);
  const off = await kernel.storage.get('off');
  t.false(btrfsOptions(off).nocow);
  t.false(btrfsOptions(off).quotas);
  t.not(btrfsInfoFor(off), BTRFS_STORAGE_INFO);
});

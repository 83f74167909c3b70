/**
 * storage.cfg as Proxmox VE writes it (the installer's defaults, a cluster with every storage
 * type, a VE 6 file: core's PROXMOX_STORAGE_CFG_SAMPLES) loads with this plugin: every section
 * is listed and none is refused by the driver's option schema. Nothing is activated.
 */
import test from 'ava';
import { createTestKernel, loadStorageCfgSamples } from '@corral/core/testing';
import { storageNfsPlugin } from '../src/index.js';

test("Proxmox's storage.cfg files load with the nfs plugin; its sections are read by its driver", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageNfsPlugin] });
  const seen = new Set<string>();
  for (const loaded of await loadStorageCfgSamples(kernel)) {
    t.deepEqual(loaded.listed, loaded.sample.sections, loaded.sample.name);
    t.deepEqual(loaded.broken, [], loaded.sample.name);
    for (const line of loaded.listed) seen.add(line.slice(line.indexOf(': ') + 2));
  }
  for (const id of ['nas-iso', 'nas-backup', 'old-backup']) t.true(seen.has(id), id);
  t.false(kernel.logger.lines.some((l) => /broken section/.test(l.message)));
});

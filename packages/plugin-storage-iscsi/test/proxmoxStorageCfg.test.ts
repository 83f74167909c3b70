/**
 * storage.cfg as Proxmox VE writes it (the installer's defaults, a cluster with every storage
 * type, a VE 6 file: core's PROXMOX_STORAGE_CFG_SAMPLES) loads with this plugin: every section
 * is listed and none is refused by the driver's option schema. Nothing is activated.
 */
import test from 'ava';
import { checkStorageCfgSamplesLoad, createTestKernel } from '@corral/core/testing';
import { storageIscsiPlugin } from '../src/index.js';

test("Proxmox's storage.cfg files load with the iscsi plugin; its sections are read by its driver", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageIscsiPlugin] });
  await checkStorageCfgSamplesLoad(t, kernel, ['san-direct']);
  t.false(kernel.logger.lines.some((l) => /broken section/.test(l.message)));
});

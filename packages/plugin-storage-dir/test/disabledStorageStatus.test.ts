import test from 'ava';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir } from '@corral/core/testing';
import { storageDirPlugin } from '../src/index.js';

// As `pvesm status`: a disabled storage is listed, inactive, and its driver is not asked;
// volume operations on it are refused with UnavailableError.
test('status and statusAll list a disabled storage as inactive instead of failing', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  await kernel.storage.add('on', 'dir', { path: await makeTempDir(t, 'corral-on-') }, { caller: ROOT_CALLER });
  await kernel.storage.add('off', 'dir', { path: await makeTempDir(t, 'corral-off-'), disable: '1' }, { caller: ROOT_CALLER });
  const off = await kernel.storage.status('off');
  t.like(off, { id: 'off', enabled: false, active: false, totalBytes: 0 });
  const all = await kernel.storage.statusAll();
  t.deepEqual(all.map((s) => [s.id, s.enabled, s.active]), [['on', true, true], ['off', false, false]]);
  await t.throwsAsync(kernel.storage.allocate({ storage: 'off', vmid: 100, sizeBytes: 1024 * 1024 }), { code: ErrorCodes.unavailable });
});

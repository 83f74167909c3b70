import type { ExecutionContext } from 'ava';
import { ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir, type TestKernel } from '@corral/core/testing';
import { storageDirPlugin } from '@corral/plugin-storage-dir';
import { storageIscsiPlugin } from '../../src/index.js';
import type { TgtTestTarget } from './TgtTestTarget.js';

/** A kernel with storage `san` (type `type`) on `tgt`'s target and a dir storage `local` as copy target. */
export async function iscsiTestKernel(t: ExecutionContext, tgt: Pick<TgtTestTarget, 'portal' | 'target'>, type = 'iscsidirect'): Promise<TestKernel> {
  const kernel = await createTestKernel(t, { plugins: [storageIscsiPlugin, storageDirPlugin] });
  await kernel.storage.add('san', type, { portal: tgt.portal, target: tgt.target, content: 'images' }, { caller: ROOT_CALLER });
  await kernel.storage.add('local', 'dir', { path: await makeTempDir(t), content: 'images' }, { caller: ROOT_CALLER });
  return kernel;
}

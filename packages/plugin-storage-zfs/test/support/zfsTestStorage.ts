/**
 * A kernel with the zfspool driver and a storage on a fresh child dataset of a shared test
 * pool, for tests that each want their own storage (one pool per test file, one dataset per
 * test: pools are slow to create on zfs-fuse, datasets are not).
 *
 * @packageDocumentation
 */
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { createTestKernel, type TestKernel } from '@corral/core/testing';
import { ROOT_CALLER, type CorralPlugin } from '@corral/core';
import { storageZfsPlugin } from '../../src/index.js';
import { runTool, runToolOk } from '@corral/core/testing';

/** What {@link createZfsTestStorage} made. */
export interface ZfsTestStorage {
  readonly kernel: TestKernel;
  /** Storage id (`under-test` unless given). */
  readonly storageId: string;
  /** The storage's `pool` option: `<pool>/<unique child>`. */
  readonly dataset: string;
  /** Destroys the child dataset and everything in it (also registered as teardown). */
  destroy(): Promise<void>;
}

/** `zfs destroy -r`, retried while zfs-fuse says busy (it unmounts on the first try). */
export async function destroyDataset(dataset: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 8; i++) {
    const r = await runTool(['zfs', 'destroy', '-r', dataset], { timeoutMs: 60_000 });
    if (r.exitCode === 0 || /does not exist/.test(r.stderr)) return;
    last = r.stderr.trim();
    await runTool(['zfs', 'unmount', dataset]);
    await new Promise((res) => setTimeout(res, 300 * (i + 1)));
  }
  throw new Error(`zfs destroy -r ${dataset} failed: ${last}`);
}

/**
 * Creates dataset `<pool>/t<hex>` and a kernel with `plugins` (default: the zfspool plugin)
 * holding storage `storageId` of type zfspool on it (`options` are added to the definition).
 * The dataset is destroyed when the test ends (after the kernel's own teardown).
 */
export async function createZfsTestStorage(
  t: ExecutionContext,
  pool: string,
  options: { storageId?: string; content?: string; extra?: Record<string, string>; plugins?: CorralPlugin[] } = {},
): Promise<ZfsTestStorage> {
  const dataset = `${pool}/t${randomBytes(4).toString('hex')}`;
  await runToolOk(['zfs', 'create', dataset], { timeoutMs: 60_000 });
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await destroyDataset(dataset);
  };
  t.teardown(destroy);
  const kernel = await createTestKernel(t, { plugins: options.plugins ?? [storageZfsPlugin] });
  const storageId = options.storageId ?? 'under-test';
  await kernel.storage.add(storageId, 'zfspool', { pool: dataset, content: options.content ?? 'images,rootdir', ...options.extra }, { caller: ROOT_CALLER });
  return { kernel, storageId, dataset, destroy };
}

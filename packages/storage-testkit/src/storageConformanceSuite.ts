import type { ExecutionContext, TestFn } from 'ava';
import { ConformanceEnv, type StorageConformanceOptions } from './ConformanceEnv.js';
import { ALLOCATING_CHECKS, CONFORMANCE_CHECKS, NO_ALLOCATION_CHECK, type ConformanceCheckId } from './checkIds.js';
import { checkAllocate, checkList, checkNotFound, checkProtected, checkResize } from './checks/allocation.js';
import { checkBadVolumeIds, checkInfo, checkStatus, checkUnknownStorage } from './checks/basics.js';
import { checkCapabilities } from './checks/capabilities.js';
import { checkTemplateClone } from './checks/clones.js';
import { checkSnapshots } from './checks/snapshots.js';
import { checkSubvol } from './checks/subvol.js';
import { checkNoAllocation } from './checks/noAllocation.js';
import { checkCopy, checkTransfer } from './checks/transfer.js';
import { checkUpload } from './checks/upload.js';

const RUN: Record<ConformanceCheckId, (env: ConformanceEnv) => Promise<void>> = {
  info: checkInfo,
  status: checkStatus,
  allocate: checkAllocate,
  list: checkList,
  'not-found': checkNotFound,
  resize: checkResize,
  snapshot: checkSnapshots,
  'template-clone': checkTemplateClone,
  copy: checkCopy,
  transfer: checkTransfer,
  protected: checkProtected,
  'bad-volume-ids': checkBadVolumeIds,
  'unknown-storage': checkUnknownStorage,
  capabilities: checkCapabilities,
  subvol: checkSubvol,
  upload: checkUpload,
};

/**
 * Registers the storage-driver contract's conformance suite with ava: one test per check in
 * {@link CONFORMANCE_CHECKS}, titled `<name> › <check>`, each against a fresh storage from
 * `options.setup`. The checks read the driver's capability record (`info.features`,
 * `formats`, `contentTypes`, `exportFormats`/`importFormats`) and the storage's enabled
 * content: a capability the record claims must work, down to the bytes (written through the
 * path, block device, directory or QEMU URL that `resolve` answers); one it leaves out must be
 * refused by `kernel.storage` with `NotSupportedError` before the driver runs. Every check
 * frees what it allocated and asserts nothing of its guest ids is left.
 *
 * ```ts
 * import test from 'ava';
 * import { storageConformanceSuite } from '@corral/storage-testkit';
 * storageConformanceSuite(test, {
 *   name: 'dir',
 *   setup: async (t) => {
 *     const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
 *     await kernel.storage.add('under-test', 'dir', { path: await makeTempDir(t), content: 'images,rootdir' });
 *     return { kernel, storageId: 'under-test' };
 *   },
 * });
 * ```
 *
 * A driver that cannot allocate at all (volumes made outside Corral, as iSCSI LUNs) says so
 * with `cannotAllocate`: the checks that need an allocation are registered as skipped with
 * that reason in their titles, and one more check proves the driver refuses allocations and
 * imports (see {@link StorageConformanceOptions.cannotAllocate}).
 *
 * Tests run concurrently within the file unless `serial` is set. Nothing is returned; each
 * check asserts.
 */
export function storageConformanceSuite<Context = unknown>(test: TestFn<Context>, options: StorageConformanceOptions): void {
  if (!options || typeof options.setup !== 'function' || !options.name) {
    throw new TypeError('storageConformanceSuite(test, { name, setup }) needs a name and a setup function');
  }
  const skip = new Set(options.skip ?? []);
  for (const id of skip) {
    if (!(id in CONFORMANCE_CHECKS)) throw new TypeError(`storageConformanceSuite: unknown check '${id}' in skip (known: ${Object.keys(CONFORMANCE_CHECKS).join(', ')})`);
  }
  const noAllocation = options.cannotAllocate;
  if (noAllocation !== undefined && (typeof noAllocation !== 'string' || noAllocation.trim() === '')) {
    throw new TypeError('storageConformanceSuite: cannotAllocate takes the reason the driver cannot allocate (a non-empty string)');
  }
  const register = options.serial ? test.serial : test;
  const run = (title: string, check: (env: ConformanceEnv) => Promise<void>) =>
    register(title, async (t: ExecutionContext<Context>) => {
      const env = await ConformanceEnv.open(t as ExecutionContext, options);
      await check(env);
    });
  for (const [id, title] of Object.entries(CONFORMANCE_CHECKS) as Array<[ConformanceCheckId, string]>) {
    const fullTitle = `${options.name} › ${title}`;
    if (skip.has(id)) {
      test.skip(`${fullTitle} (skipped by the suite's options)`, () => undefined);
    } else if (noAllocation !== undefined && ALLOCATING_CHECKS.includes(id)) {
      test.skip(`${fullTitle} (not run: declared unable to allocate: ${noAllocation})`, () => undefined);
    } else {
      run(fullTitle, RUN[id]);
    }
  }
  if (noAllocation !== undefined) run(`${options.name} › ${NO_ALLOCATION_CHECK}`, checkNoAllocation);
}

/**
 * A kernel whose lvm and lvmthin drivers run the real lvm2 tools against a test VG (see
 * {@link createLvmTestVg}), with the VG's private `LVM_SYSTEM_DIR`.
 *
 * @packageDocumentation
 */
import type { ExecutionContext } from 'ava';
import { definePlugin, extensionPoints, PLUGIN_API_VERSION, ROOT_CALLER, type CommandRunner } from '@corral/core';
import { createTestKernel, type TestKernel } from '@corral/core/testing';
import { LvmStorageDriver, LvmThinStorageDriver, type LvmStorageDriverOptions } from '../../src/index.js';

/** Both drivers with `options` (the test VG's env, a device root), as one plugin. */
export function lvmTestPlugin(options: LvmStorageDriverOptions) {
  return definePlugin({
    id: 'storage-lvm-test',
    apiVersion: PLUGIN_API_VERSION,
    register(env) {
      env.extend(extensionPoints.storageDrivers, 'lvm', new LvmStorageDriver(options));
      env.extend(extensionPoints.storageDrivers, 'lvmthin', new LvmThinStorageDriver(options));
    },
  });
}

/** A kernel with both drivers and storage `storageId` of `type` with `options`. */
export async function createLvmTestStorage(
  t: ExecutionContext,
  type: 'lvm' | 'lvmthin',
  definition: Record<string, string>,
  options: { storageId?: string; driver?: LvmStorageDriverOptions; commandRunner?: CommandRunner } = {},
): Promise<{ kernel: TestKernel; storageId: string }> {
  const kernel = await createTestKernel(t, { plugins: [lvmTestPlugin(options.driver ?? {})], ...(options.commandRunner ? { commandRunner: options.commandRunner } : {}) });
  const storageId = options.storageId ?? 'under-test';
  await kernel.storage.add(storageId, type, definition, { caller: ROOT_CALLER });
  return { kernel, storageId };
}

/**
 * Capabilities per storage definition (`StorageDriver.infoFor`, plugin API 3): the facade
 * checks an operation against the record of the storage it runs on, and its NotSupportedError
 * names the capability it refused.
 */
import test from 'ava';
import { definePlugin, ErrorCodes, extensionPoints, NotSupportedError, ROOT_CALLER, storageInfoFor, type StorageDefinition, type StorageDriverInfo } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, requireReal } from '@corral/core/testing';
import { DirStorageDriver } from '../src/DirStorageDriver.js';

/** A dir driver whose storages named `nosnap` declare no qcow2 snapshots. */
class NoSnapshotsOnSomeStorages extends DirStorageDriver {
  infoFor(definition: StorageDefinition): StorageDriverInfo {
    if (definition.id !== 'nosnap') return this.info;
    const { snapshot: _s, rollback: _r, ...features } = this.info.features;
    return { ...this.info, features };
  }
}

test('infoFor decides per storage; the refusal names the capability; without infoFor the type record applies', async (t) => {
  if (!requireReal(t, hasProgram('qemu-img'), 'qemu-img is not installed')) return;
  const driver = new NoSnapshotsOnSomeStorages();
  const plugin = definePlugin({ id: 'test.dir-per-storage', apiVersion: 3, register: (env) => env.extend(extensionPoints.storageDrivers, 'dir', driver) });
  const kernel = await createTestKernel(t, { plugins: [plugin] });
  for (const id of ['nosnap', 'snap']) await kernel.storage.add(id, 'dir', { path: await makeTempDir(t, 'corral-caps-'), content: 'images' }, { caller: ROOT_CALLER });
  const a = await kernel.storage.allocate({ storage: 'nosnap', vmid: 100, sizeBytes: 1024 * 1024, format: 'qcow2' });
  const b = await kernel.storage.allocate({ storage: 'snap', vmid: 100, sizeBytes: 1024 * 1024, format: 'qcow2' });
  t.false(await kernel.storage.hasFeature(a, 'snapshot'));
  t.true(await kernel.storage.hasFeature(b, 'snapshot'));
  const err = await t.throwsAsync<NotSupportedError>(kernel.storage.snapshotCreate(a, 'snap1'), { code: ErrorCodes.notSupported });
  t.is(err?.operation, 'snapshot');
  t.regex(err?.message ?? '', /storage 'nosnap'.*capability 'snapshot' is not declared for qcow2 in state 'current'/);
  await kernel.storage.snapshotCreate(b, 'snap1');
  t.deepEqual((await kernel.storage.snapshotList(b)).map((s) => s.name), ['snap1']);

  const plain = new DirStorageDriver();
  const def = await kernel.storage.get('nosnap');
  t.is(storageInfoFor(plain, def), plain.info, 'a driver without infoFor: the type-level record');
  for (const v of [a, b]) await kernel.storage.free(v);
});

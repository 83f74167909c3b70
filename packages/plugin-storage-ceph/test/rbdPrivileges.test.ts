import test from 'ava';
import { PermissionError, ROOT_CALLER, unprivilegedCaller } from '@corral/core';
import { createTestKernel, RecordingCommandRunner } from '@corral/core/testing';
import { RbdStorageDriver, storageCephPlugin } from '../src/index.js';

test('an rbd definition without a keyring uses the host Ceph credentials: root-equivalent; with its own keyring it is not', (t) => {
  const driver = new RbdStorageDriver();
  t.deepEqual(
    driver.privilegedUses({ pool: 'rbd' }).map((u) => u.key),
    ['keyring'],
  );
  t.deepEqual(driver.privilegedUses({ pool: 'rbd', monhost: '10.0.0.1', keyring: 'AQBxyz==' }), []);
  t.deepEqual(driver.info.privilegedOptions, ['conf']);
});

test('the facade refuses an rbd storage on the host credentials, and a conf path, from an unprivileged caller', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageCephPlugin], commandRunner: new RecordingCommandRunner() });
  const alice = unprivilegedCaller('alice@pve');
  const e1 = await t.throwsAsync(kernel.storage.add('ceph', 'rbd', { pool: 'rbd', content: 'images' }, { caller: alice }), { instanceOf: PermissionError });
  t.is(e1!.key, 'keyring');
  const e2 = await t.throwsAsync(
    kernel.storage.add('ceph', 'rbd', { pool: 'rbd', conf: '/etc/ceph/other.conf', keyring: 'AQBxyz==', content: 'images' }, { caller: alice }),
    {
      instanceOf: PermissionError,
    },
  );
  t.is(e2!.key, 'conf');
  t.deepEqual(await kernel.storage.list(), []);
  // From root the privilege check passes (the definition may still fail its own checks).
  const asRoot = await kernel.storage.add('ceph', 'rbd', { pool: 'rbd', content: 'images' }, { caller: ROOT_CALLER }).catch((e: Error) => e);
  t.false(asRoot instanceof PermissionError);
});

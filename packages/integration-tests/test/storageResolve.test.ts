/**
 * `storage.resolve(volid)` without its options object answers for the host (as `pvesm path`),
 * and a consumer it does not know is a coded error naming `consumer` (issue 25 point 6: it
 * was an uncoded TypeError).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { ErrorCodes, InvalidArgumentError, type VolumeConsumer } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { openTestNode } from './support/nodeKernel.js';

const imgTest = realTest(test, hasProgram('qemu-img'), 'qemu-img is not installed');

imgTest('resolve without options gives the host path of the volume, as with consumer host', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-resolve-');
  const volid = await kernel.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 1024 * 1024, format: 'qcow2' });
  const access = await kernel.storage.resolve(volid);
  t.deepEqual(access, await kernel.storage.resolve(volid, { consumer: 'host' }));
  t.true(access.kind === 'file' && existsSync(access.path), JSON.stringify(access));
  t.deepEqual(await kernel.storage.resolve(volid, {}), access);
});

imgTest('resolve with an unknown consumer is an InvalidArgumentError naming consumer', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-resolve-');
  const volid = await kernel.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 1024 * 1024, format: 'qcow2' });
  const err = await t.throwsAsync(kernel.storage.resolve(volid, { consumer: 'vmware' as VolumeConsumer }), { instanceOf: InvalidArgumentError });
  t.is(err.code, ErrorCodes.invalidArgument);
  t.is(err.argument, 'consumer');
  t.regex(err.message, /unknown volume consumer 'vmware'/);
});

/**
 * When the Gluster server goes away (glusterd and the brick killed): a mounted storage's status
 * turns inactive, a storage that is not mounted yet does not activate ("not online", found by
 * the TCP probe of glusterd's port), and the dead mount can still be deactivated.
 */
import test from 'ava';
import { join } from 'node:path';
import { ErrorCodes, ROOT_CALLER, readProcMounts } from '@corral/core';
import { createTestKernel } from '@corral/core/testing';
import { createStorageGlusterfsPlugin, isGlusterfsMounted } from '../src/index.js';
import { glusterRealTest, useGlusterServer } from './support/glusterFixture.js';

const realTest = glusterRealTest(test);
const gluster = useGlusterServer(test);

realTest.serial('with the server gone: status inactive, activation "not online", deactivate still unmounts', async (t) => {
  const server = gluster();
  const volume = server.volumes[0];
  const kernel = await createTestKernel(t, { plugins: [createStorageGlusterfsPlugin()] });
  const mounted = join(server.dir, 'mnt-mounted');
  await kernel.storage.add('up', 'glusterfs', { server: server.address, volume, path: mounted, content: 'images' }, { caller: ROOT_CALLER });
  await kernel.storage.add('later', 'glusterfs', { server: server.address, volume, path: join(server.dir, 'mnt-later'), content: 'images' }, { caller: ROOT_CALLER });
  await kernel.storage.activate('up');
  t.true((await kernel.storage.status('up')).active);

  await server.kill();
  t.true(isGlusterfsMounted(volume, mounted, await readProcMounts()), 'the FUSE mount stays');
  const gone = await kernel.storage.status('up');
  t.deepEqual([gone.active, gone.totalBytes, gone.usedBytes, gone.availableBytes], [false, 0, 0, 0]);
  const err = await t.throwsAsync(kernel.storage.activate('later'), { code: ErrorCodes.unavailable });
  t.regex(err!.message, new RegExp(`storage 'later' is not online \\(${server.address.replaceAll('.', '\\.')}:${volume} does not answer\\)`));

  await kernel.storage.deactivate('up');
  t.false(isGlusterfsMounted(volume, mounted, await readProcMounts()));
});

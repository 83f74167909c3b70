import test from 'ava';
import { join } from 'node:path';
import { createTestKernel, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { ROOT_CALLER } from '@corral/core';
import { createStorageGlusterfsPlugin } from '../src/index.js';
import { glusterAvailable, GLUSTER_MISSING_REASON, useGlusterServer } from './support/glusterFixture.js';

if (!glusterAvailable && !realComponentsRequired()) {
  test.skip(`glusterfs conformance (skipped: ${GLUSTER_MISSING_REASON})`, () => undefined);
} else {
  const gluster = useGlusterServer(test);
  // The storage contract against two volumes of a real glusterd (in its own network namespace,
  // reached through a veth route), each FUSE-mounted by the driver under the server's private
  // directory. 'copy-target' is the second volume (qcow2).
  storageConformanceSuite(test, {
    name: 'glusterfs',
    foreignVolnames: ['vm-100-disk-0', '100/subvol-100-disk-0.subvol', '100/vm-100-disk-0.vmdk', 'tank/vm-100-disk-0', 'iso/x.dvd', 'rootdir/100'],
    setup: async (t) => {
      if (!glusterAvailable) t.fail(`required: ${GLUSTER_MISSING_REASON}`);
      const server = gluster();
      const kernel = await createTestKernel(t, { plugins: [createStorageGlusterfsPlugin()] });
      await kernel.storage.add(
        'under-test',
        'glusterfs',
        { server: server.address, volume: server.volumes[0], path: join(server.dir, 'mnt-a'), content: 'images,iso,vztmpl,backup,snippets' },
        { caller: ROOT_CALLER }
      );
      await kernel.storage.add(
        'copy-target',
        'glusterfs',
        { server: server.address, volume: server.volumes[1], path: join(server.dir, 'mnt-b'), content: 'images', format: 'qcow2' },
        { caller: ROOT_CALLER }
      );
      return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
    },
  });
}

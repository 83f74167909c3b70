import test from 'ava';
import { createTestKernel, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { ROOT_CALLER } from '@corral/core';
import { createStorageNfsPlugin } from '../src/index.js';
import { nfsStandInMounter } from './support/nfsStandIn.js';
import { ganeshaAvailable, GANESHA_MISSING_REASON, useGaneshaServer } from './support/ganeshaFixture.js';

if (!ganeshaAvailable && !realComponentsRequired()) {
  test.skip(`nfs conformance (skipped: ${GANESHA_MISSING_REASON})`, () => undefined);
} else {
  const nfs = useGaneshaServer(test);
  // The storage contract against two exports of a real nfs-ganesha on 127.0.0.1. This kernel
  // has no NFS client, so each storage's mount point is the exported directory itself (the
  // stand-in mounter checks the export with showmount instead of mounting): the files the
  // driver writes are the files ganesha serves. 'copy-target' is the second export (qcow2).
  storageConformanceSuite(test, {
    name: 'nfs',
    foreignVolnames: [
      'vm-100-disk-0',
      '100/subvol-100-disk-0.subvol',
      '100/vm-100-disk-0.vmdk',
      'tank/vm-100-disk-0',
      'rbd/vm-100-disk-0',
      'iso/x.dvd',
      'rootdir/100',
    ],
    setup: async (t) => {
      if (!ganeshaAvailable) t.fail(`required: ${GANESHA_MISSING_REASON}`);
      const server = nfs();
      const kernel = await createTestKernel(t, {
        plugins: [createStorageNfsPlugin({ mounter: nfsStandInMounter() })],
      });
      const common = { server: server.server, options: 'vers=3' };
      await kernel.storage.add(
        'under-test',
        'nfs',
        {
          ...common,
          export: server.exportDir,
          path: server.exportDir,
          content: 'images,iso,vztmpl,backup,snippets',
        },
        { caller: ROOT_CALLER }
      );
      await kernel.storage.add(
        'copy-target',
        'nfs',
        {
          ...common,
          export: server.exportDir2,
          path: server.exportDir2,
          content: 'images',
          format: 'qcow2',
        },
        { caller: ROOT_CALLER }
      );
      return {
        kernel,
        storageId: 'under-test',
        copyTargetStorageId: 'copy-target',
      };
    },
  });
}

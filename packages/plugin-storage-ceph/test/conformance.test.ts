import test from 'ava';
import { createTestKernel, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { ROOT_CALLER } from '@corral/core';
import { storageCephPlugin } from '../src/index.js';
import { cephAvailable, CEPH_MISSING_REASON, externalRbdOptions, useCephTestCluster } from './support/cephTestFixture.js';
import { runToolOk } from '@corral/core/testing';
import { hasProgram } from '@corral/core/testing';

const ready = cephAvailable && hasProgram('qemu-io');

if (!ready && !realComponentsRequired()) {
  test.skip(`rbd conformance (skipped: ${CEPH_MISSING_REASON} and qemu-io)`, () => undefined);
} else {
  const ceph = useCephTestCluster(test);
  test.serial.before(async () => {
    if (!ready) return;
    // The copy target lives in a namespace of the same pool.
    await runToolOk(['rbd', ...ceph().cluster.clientArgs, 'namespace', 'create', `${ceph().cluster.pool}/copyns`]);
  });

  // The storage contract against a real one-node Ceph cluster (started once for the file; every
  // test gets its own kernel and guest ids). 'under-test' is defined as an external cluster
  // (monhost + username + keyring secret); 'copy-target' through the cluster's ceph.conf, in a
  // namespace. Bytes are checked through the QEMU rbd: URL that resolve() answers (qemu-io).
  storageConformanceSuite(test, {
    name: 'rbd',
    foreignVolnames: ['100/vm-100-disk-0.qcow2', 'subvol-100-disk-0', 'basevol-100-disk-0/subvol-101-disk-0', 'iso/x.iso', 'vm-100-disk-0@snap', 'rbd/vm-100-disk-0'],
    setup: async (t) => {
      if (!ready) t.fail(`required: ${CEPH_MISSING_REASON}, qemu-io`);
      const f = ceph();
      const kernel = await createTestKernel(t, { plugins: [storageCephPlugin] });
      await kernel.storage.add('under-test', 'rbd', externalRbdOptions(f), { caller: ROOT_CALLER });
      await kernel.storage.add(
        'copy-target',
        'rbd',
        { pool: f.cluster.pool, namespace: 'copyns', conf: f.cluster.confPath, username: f.cluster.clientId, content: 'images' },
        { caller: ROOT_CALLER },
      );
      return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
    },
  });
}

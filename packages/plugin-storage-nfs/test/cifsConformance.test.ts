import test from 'ava';
import { createTestKernel, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { ROOT_CALLER } from '@corral/core';
import { createStorageCifsPlugin } from '../src/index.js';
import { cifsStandInMounter } from './support/cifsStandIn.js';
import { SMBD_TEST_PASSWORD } from './support/SmbdServer.js';
import { smbdAvailable, SMBD_MISSING_REASON, useSmbdServer } from './support/smbdFixture.js';

if (!smbdAvailable && !realComponentsRequired()) {
  test.skip(`cifs conformance (skipped: ${SMBD_MISSING_REASON})`, () => undefined);
} else {
  const smb = useSmbdServer(test);
  // The storage contract for type cifs against two shares of a real smbd on 127.0.0.1. This
  // kernel has no CIFS client, so each storage's mount point is the shared directory itself
  // (activate probes the share with pve's smbclient check; the stand-in mounter writes the credentials file and probes again
  // instead of mounting). QEMU has no SMB driver: volumes are files on the mount.
  storageConformanceSuite(test, {
    name: 'cifs',
    foreignVolnames: ['vm-100-disk-0', '100/subvol-100-disk-0.subvol', '100/vm-100-disk-0.vmdk', 'tank/vm-100-disk-0', 'iso/x.dvd'],
    setup: async (t) => {
      if (!smbdAvailable) t.fail(`required: ${SMBD_MISSING_REASON}`);
      const server = smb();
      const kernel = await createTestKernel(t, { plugins: [createStorageCifsPlugin({ mounter: cifsStandInMounter() })] });
      await kernel.storage.add(
        'under-test',
        'cifs',
        { server: server.server, share: 'corral', path: server.shareDir, username: 'root', password: SMBD_TEST_PASSWORD, content: 'images,iso,vztmpl,backup,snippets' },
        { caller: ROOT_CALLER }
      );
      await kernel.storage.add(
        'copy-target',
        'cifs',
        { server: server.server, share: 'corral2', path: server.shareDir2, content: 'images', format: 'qcow2' },
        { caller: ROOT_CALLER }
      );
      return { kernel, storageId: 'under-test', copyTargetStorageId: 'copy-target' };
    },
  });
}

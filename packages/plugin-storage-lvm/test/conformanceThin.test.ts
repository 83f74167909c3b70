import test from 'ava';
import { rm } from 'node:fs/promises';
import { hasProgram, makeTempDir, realComponentsRequired } from '@corral/core/testing';
import { storageConformanceSuite } from '@corral/storage-testkit';
import { createLvmTestVg, LVM_TEST_PROGRAMS, type LvmTestVg } from './support/LvmTestVg.js';
import { createLvmTestStorage } from './support/lvmTestStorage.js';
import { ThinMetadataRunner } from './support/ThinMetadataRunner.js';

const missing = LVM_TEST_PROGRAMS.filter((p) => !hasProgram(p));

let vg: LvmTestVg | undefined;
let baseDir: string | undefined;

if (missing.length > 0 && !realComponentsRequired()) {
  test.skip(`lvmthin conformance (skipped: ${missing.join(', ')} not installed; Debian package lvm2)`, () => undefined);
} else {
  test.before(async () => {
    if (missing.length > 0) return;
    baseDir = await makeTempDir(undefined, 'corral-lvmthinconf-');
    vg = await createLvmTestVg({ parent: baseDir, sizeBytes: 512 * 1024 * 1024 });
    await vg.addThinPool('data', 256 * 1024 * 1024);
  });
  test.after.always(async () => {
    await vg?.destroy();
    if (baseDir) await rm(baseDir, { recursive: true, force: true });
  });

  // The storage contract for lvmthin against the real lvm2 on one VG whose thin pool is
  // written into the metadata (see test/support/LvmTestVg.ts). lvm2 refuses to create or
  // remove thin LVs without device-mapper only after all its own checks; ThinMetadataRunner
  // completes exactly that kernel half on the metadata (see its comment), everything else is
  // lvm2's. Skipped, because no device node /dev/<vg>/<lv> exists here: every check that
  // writes or reads bytes through resolve (allocate, resize, snapshot, template-clone, copy,
  // transfer); those paths are argv tests with recorded output in lvmArgv.test.ts. Serial:
  // metadata edits must not interleave.
  storageConformanceSuite(test, {
    name: 'lvmthin',
    serial: true,
    skip: ['allocate', 'resize', 'snapshot', 'template-clone', 'copy', 'transfer'],
    foreignVolnames: ['100/vm-100-disk-0.qcow2', '100/vm-100-disk-0.raw', 'iso/x.iso', 'subvol-100-disk-0', 'vm-100', 'snap_vm-100-disk-0_s1', 'base-100-disk-0/vm-101-disk-0'],
    setup: async (t) => {
      if (missing.length > 0) t.fail(`required programs missing: ${missing.join(', ')}`);
      return createLvmTestStorage(t, 'lvmthin', { vgname: vg!.vg, thinpool: 'data', content: 'images,rootdir' }, { driver: { env: vg!.env }, commandRunner: new ThinMetadataRunner(vg!) });
    },
  });
}

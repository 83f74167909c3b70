import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeCommandRunner } from '@corral/core';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { CLONE_ID, CT_ID, openDemoKernel, runQuickstart, VM_ID } from '../src/quickstart.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cache = process.env.CORRAL_CACHE_DIR ?? join(repo, '.cache');
const realQuickstart = realTest(
  test,
  hasProgram('qemu-system-x86_64') && hasProgram('lxc-start'),
  'the quick start needs qemu-system-x86_64 and lxc-start',
);

realQuickstart.serial('the quick start boots a VM, runs a container, snapshots and linked-clones, twice in a row', async (t) => {
  const runner = new NodeCommandRunner();
  await runner.run(['bash', join(repo, 'packages/plugin-kvm/scripts/build-test-guest.sh')], { timeoutMs: 600_000 });
  await runner.run(['bash', join(repo, 'packages/plugin-lxc/scripts/build-busybox-template.sh')], { timeoutMs: 600_000 });
  const guest = JSON.parse(await readFile(join(cache, 'test-guest', 'manifest.json'), 'utf8')) as { kernel: string; initrd: string; cmdline: string };
  const containerTemplate = join(cache, 'lxc', 'busybox.tar.gz');
  t.true(existsSync(containerTemplate));

  const dir = await makeTempDir(t, 'corral-quickstart-');
  const options = { dataDir: join(dir, 'data'), runDir: join(dir, 'run'), guest, containerTemplate };
  for (const round of [1, 2]) {
    const kernel = await openDemoKernel(options);
    try {
      const steps: string[] = [];
      const report = await runQuickstart(kernel, { ...options, step: (title, run) => (steps.push(title), run()) });
      t.true(report.consoleLines.some((l) => /^CORRAL-DISK name=\S+ size=1073741824 serial=DEMODISK/.test(l)), `round ${round}: VM disk seen by the guest`);
      t.true(report.consoleLines.some((l) => l.startsWith('CORRAL-GUEST-READY')));
      t.true(report.cloneConsoleLines.some((l) => /serial=DEMODISK/.test(l)), 'the clone boots from the template disk');
      t.regex(report.containerSays, /^demo-ct: Linux .*pid 1 is init$/);
      t.deepEqual(report.snapshots, ['booted']);
      for (const upid of Object.values(report.upids)) t.regex(upid, /^UPID:corral-demo:/);
      const guests = await kernel.guests.list();
      t.deepEqual(
        guests.map((g) => [g.vmid, g.template ? 'template' : g.status]),
        [
          [VM_ID, 'template'],
          [CLONE_ID, 'stopped'],
          [CT_ID, 'stopped'],
        ],
      );
      const clone = await kernel.guests.config(CLONE_ID);
      t.regex(clone.config.scsi0!, /base-100-disk-0\.qcow2\/101\/vm-101-disk-0\.qcow2/, 'a linked clone on the template base');
      t.true(steps.length >= 10);
    } finally {
      await kernel.dispose();
    }
  }
  const kernel = await openDemoKernel(options);
  const { removeDemoGuests } = await import('../src/quickstart.js');
  await removeDemoGuests(kernel);
  t.deepEqual(await kernel.storage.listVolumes('local', { content: 'images' }), [], 'no VM disk left after cleanup');
  t.deepEqual(await kernel.storage.listVolumes('local', { content: 'rootdir' }), [], 'no container volume left after cleanup');
  await kernel.dispose();
});

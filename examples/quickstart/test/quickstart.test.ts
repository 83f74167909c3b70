import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeCommandRunner, ROOT_CALLER } from '@corral/core';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { bootUntilReady, CLONE_ID, CT_ID, openDemoKernel, runQuickstart, VM_ID } from '../src/quickstart.js';
import { stopDemoGuests } from './support/stopDemoGuests.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const cache = process.env.CORRAL_CACHE_DIR ?? join(repo, '.cache');
const realQuickstart = realTest(
  test,
  hasProgram('qemu-system-x86_64') && hasProgram('lxc-start'),
  'the quick start needs qemu-system-x86_64 and lxc-start',
);

/** Builds (or finds cached) the test guest and the container template. */
async function images(): Promise<{ guest: { kernel: string; initrd: string; cmdline: string }; containerTemplate: string }> {
  const runner = new NodeCommandRunner();
  await runner.run(['bash', join(repo, 'packages/plugin-kvm/scripts/build-test-guest.sh')], { timeoutMs: 600_000 });
  await runner.run(['bash', join(repo, 'packages/plugin-lxc/scripts/build-busybox-template.sh')], { timeoutMs: 600_000 });
  const guest = JSON.parse(await readFile(join(cache, 'test-guest', 'manifest.json'), 'utf8')) as { kernel: string; initrd: string; cmdline: string };
  return { guest, containerTemplate: join(cache, 'lxc', 'busybox.tar.gz') };
}

/** A private data and run directory whose guests are stopped when the test ends, passed or failed (registered after the directory's removal, so it runs before it). */
async function demoDirs(t: ExecutionContext, vmids: readonly number[]): Promise<{ dataDir: string; runDir: string }> {
  const dir = await makeTempDir(t, 'corral-quickstart-');
  const dirs = { dataDir: join(dir, 'data'), runDir: join(dir, 'run') };
  t.teardown(() => stopDemoGuests({ ...dirs, vmids, openKernel: () => openDemoKernel(dirs) }).then(() => undefined));
  return dirs;
}

realQuickstart.serial('the quick start boots a VM, runs a container, snapshots and linked-clones, twice in a row', async (t) => {
  const { guest, containerTemplate } = await images();
  t.true(existsSync(containerTemplate));

  const options = { ...(await demoDirs(t, [VM_ID, CLONE_ID, CT_ID])), guest, containerTemplate };
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

realQuickstart.serial('a boot that prints no READY line fails naming the accelerator, the timeout and the serial log', async (t) => {
  const { guest } = await images();
  const dirs = await demoDirs(t, [VM_ID]);
  const kernel = await openDemoKernel(dirs);
  t.teardown(() => kernel.dispose());
  // the guest's /init never runs (busybox sh instead): no CORRAL-GUEST-READY line comes
  await kernel.guests.create('qemu', {
    name: 'stuck-vm', memory: 256, serial0: 'socket', freeze: 1,
    args: `-kernel ${guest.kernel} -initrd ${guest.initrd} -append "${guest.cmdline} rdinit=/bin/sh"`,
  }, { caller: ROOT_CALLER, vmid: VM_ID });
  const err = await t.throwsAsync(bootUntilReady(kernel, VM_ID, { readyTimeoutMs: 5_000 }));
  t.log(err.message);
  const detail = (await kernel.guests.status(VM_ID)).detail as { accel: string; serialLogs: { serial0: string }; qemuLog: string };
  const serialLog = join(dirs.runDir, 'qemu', String(VM_ID), 'serial0.log');
  t.is(detail.serialLogs.serial0, serialLog);
  t.true(err.message.startsWith(`VM ${VM_ID} printed no READY line within 5 s (accelerator: ${detail.accel}, `), err.message);
  t.true(err.message.includes(`serial console log: ${serialLog}`), err.message);
  t.true(err.message.includes(`QEMU log: ${detail.qemuLog}`), err.message);
  t.true(existsSync(serialLog));
  await kernel.guests.stop(VM_ID);
  await kernel.guests.destroy(VM_ID);
});

/**
 * The QEMU driver against real QEMU (TCG) booting the test guest through `kernel.guests`:
 * boot with the configured disk and NIC, state errors, resource placement in cgroup v1,
 * consoles, the guest agent, disk and NIC hotplug, pending changes, agent shutdown, destroy
 * leaving nothing behind, and start failures that leave nothing behind. One guest at a time.
 */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { CommandFailedError, InvalidConfigError, InvalidStateError, ROOT_CALLER } from '@corral/core';
import { realTest } from '@corral/core/testing';
import { withQmp } from '../src/runtime/withQmp.js';
import { parseDiskMarker, parseNicMarker } from './support/guestMarkers.js';
import { testGuestUnavailableReason } from './support/testGuestImage.js';
import { bootGuest, connectSerial, kvmTestKernel, testGuestConfig } from './support-kvm/kvmTestKernel.js';

const reason = testGuestUnavailableReason();
const qemuTest = realTest(test, reason === undefined, reason ?? '');
const ovmfReason = reason ?? (existsSync('/usr/share/OVMF/OVMF_CODE_4M.fd') ? undefined : 'OVMF firmware is not installed (package ovmf)');
const ovmfTest = realTest(test, ovmfReason === undefined, ovmfReason ?? '');

async function readRfbGreeting(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
      if (got.length >= 12) {
        s.destroy();
        resolve(got.slice(0, 12));
      }
    });
    s.on('error', reject);
    setTimeout(() => {
      s.destroy();
      reject(new Error(`no RFB greeting on ${path} (got ${JSON.stringify(got)})`));
    }, 5000);
  });
}

async function processExists(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

qemuTest.serial('a VM boots from its config, is placed and limited, hot-plugs, shuts down through the agent and is destroyed without leftovers', async (t) => {
  const env = await kvmTestKernel(t);
  const { kernel, bridge, cgroupParent } = env;
  const { vmid } = await kernel.guests.create('qemu', testGuestConfig(env, { cpulimit: '0.5', cpuunits: 512, ide2: 'none,media=cdrom' }), {
    caller: ROOT_CALLER,
    vmid: 100,
  });
  const config = (await kernel.guests.config(vmid)).config;
  t.regex(config.scsi0!, /^local:100\/vm-100-disk-0\.qcow2,format=qcow2,serial=CORRALSCSI0,size=1G$/);

  const { serial, report } = await bootGuest(t, kernel, vmid);
  // the disk: 1 GiB, with its serial, on the virtio-scsi controller
  const disk = report.disks.find((d) => d.serial === 'CORRALSCSI0');
  t.truthy(disk, `disks seen: ${JSON.stringify(report.disks)}`);
  t.is(disk!.sizeBytes, 1024 ** 3);
  t.truthy(disk!.hctl);
  // the NIC with its MAC, the agent
  t.deepEqual(report.nics.map((n) => [n.mac, n.driver]), [['bc:24:11:aa:00:01', 'virtio_net']]);
  t.true(report.agentStarted);

  // state errors
  const status = await kernel.guests.status(vmid);
  t.is(status.state, 'running');
  t.true(status.pid! > 1);
  await t.throwsAsync(kernel.guests.start(vmid), { instanceOf: InvalidStateError });

  // the start task said which accelerator ran and why; status says the same, with the log files
  const startTask = (await kernel.tasks.list({ type: 'qmstart' })).at(-1)!; // newest first: the first start
  const log = (await kernel.tasks.readLog(startTask.upid)).lines.map((l) => l.t).join('\n');
  const detail = status.detail as { accel: string; accelReason: string; qemuLog: string; serialLogs: Record<string, string> };
  t.true(detail.accel === 'kvm' || detail.accel === 'tcg');
  t.true(log.includes(`accelerator: ${detail.accel} (${detail.accelReason})`), log);
  if (detail.accel === 'tcg' && /^KVM probe failed/.test(detail.accelReason)) t.regex(log, /KVM probe failed( \([^)]*\))?: .*; running under TCG/);
  t.is(detail.qemuLog, join(kernel.dir, 'run', 'qemu', '100', 'qemu.log'));
  t.true(existsSync(detail.qemuLog));
  // what the guest printed is in the serial log file, although a client is connected too
  t.regex(await readFile(detail.serialLogs.serial0!, 'utf8'), /CORRAL-GUEST-READY/);

  // cgroup v1 placement and limits, for real
  const pid = status.pid!;
  const cg = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  t.regex(cg, new RegExp(`:cpu:/${cgroupParent}/100\\.scope$`, 'm'));
  t.regex(cg, new RegExp(`:memory:/${cgroupParent}/100\\.scope$`, 'm'));
  const cpuDir = `/sys/fs/cgroup/cpu/${cgroupParent}/100.scope`;
  t.is((await readFile(`${cpuDir}/cpu.cfs_quota_us`, 'utf8')).trim(), '50000');
  t.is((await readFile(`${cpuDir}/cpu.shares`, 'utf8')).trim(), '512');
  t.is(Number((await readFile(`/sys/fs/cgroup/memory/${cgroupParent}/100.scope/memory.limit_in_bytes`, 'utf8')).trim()), (256 + 512) * 1024 * 1024);
  // live cpulimit change goes to the cgroup at once
  const cpuChange = await kernel.guests.update(vmid, { set: { cpulimit: 1.5 } }, { caller: ROOT_CALLER });
  t.deepEqual(cpuChange.applied, ['cpulimit']);
  t.is((await readFile(`${cpuDir}/cpu.cfs_quota_us`, 'utf8')).trim(), '150000');

  // the tap is in the bridge
  t.is((await readFile(`/sys/class/net/tap100i0/master/uevent`, 'utf8')).match(/INTERFACE=(\S+)/)?.[1], bridge);

  // VNC console speaks RFB
  const vnc = await kernel.guests.console(vmid, 'vnc');
  t.is(vnc.kind === 'unix' && vnc.protocol, 'rfb');
  t.is(await readRfbGreeting((vnc as { path: string }).path), 'RFB 003.008\n');

  // guest agent exec
  const exec = await kernel.guests.exec(vmid, ['/bin/sh', '-c', 'echo hello from $(hostname); cat /sys/block/sda/size; exit 3']);
  t.is(exec.exitCode, 3);
  t.is(exec.stdout, `hello from corral-test-guest\n${(1024 ** 3) / 512}\n`);

  // hotplug a disk: it appears in the guest with its size and serial
  let from = serial.mark();
  const plugged = await kernel.guests.update(vmid, { set: { virtio1: 'local:0.25,serial=HOTDISK1' } }, { caller: ROOT_CALLER });
  t.deepEqual(plugged.applied, ['virtio1']);
  const added = parseDiskMarker((await serial.waitForLine(/^CORRAL-DISK-ADDED .*serial=HOTDISK1/, { from })).line);
  t.is(added.sizeBytes, 256 * 1024 ** 2);
  const hotVolid = (await kernel.guests.config(vmid)).config.virtio1!.split(',')[0]!;

  // hotplug a NIC into the bridge
  from = serial.mark();
  const nicChange = await kernel.guests.update(vmid, { set: { net1: `virtio=BC:24:11:AA:00:02,bridge=${bridge}` } }, { caller: ROOT_CALLER });
  t.deepEqual(nicChange.applied, ['net1']);
  t.is(parseNicMarker((await serial.waitForLine(/^CORRAL-NIC-ADDED /, { from })).line).mac, 'bc:24:11:aa:00:02');
  t.is((await readFile(`/sys/class/net/tap100i1/master/uevent`, 'utf8')).match(/INTERFACE=(\S+)/)?.[1], bridge);
  // a live firewall=1 re-plugs the tap behind Proxmox's port bridge (core's NIC plugging)
  const fw = await kernel.guests.update(vmid, { set: { net1: `virtio=BC:24:11:AA:00:02,bridge=${bridge},firewall=1` } }, { caller: ROOT_CALLER });
  t.deepEqual(fw.applied, ['net1']);
  t.is((await readFile(`/sys/class/net/tap100i1/master/uevent`, 'utf8')).match(/INTERFACE=(\S+)/)?.[1], 'fwbr100i1');
  t.is((await readFile(`/sys/class/net/fwpr100p1/master/uevent`, 'utf8')).match(/INTERFACE=(\S+)/)?.[1], bridge);

  // a NIC's link goes down and up live
  const linkDown = await kernel.guests.update(vmid, { set: { net0: `virtio=BC:24:11:AA:00:01,bridge=${bridge},link_down=1` } }, { caller: ROOT_CALLER });
  t.deepEqual(linkDown.applied, ['net0']);
  const eth0 = report.nics[0]!.name;
  // The guest learns the link state from a config interrupt: wait in the guest until its carrier says so.
  const carrierBecomes = (value: 0 | 1): string =>
    `until [ "$(cat /sys/class/net/${eth0}/carrier)" = ${value} ]; do sleep 0.05; done; cat /sys/class/net/${eth0}/carrier`;
  t.deepEqual((await serial.run(`ip link set ${eth0} up; ${carrierBecomes(0)}`)).output, ['0']);
  await kernel.guests.update(vmid, { set: { net0: `virtio=BC:24:11:AA:00:01,bridge=${bridge}` } }, { caller: ROOT_CALLER });
  t.deepEqual((await serial.run(carrierBecomes(1))).output, ['1']);

  // a CD-ROM medium changes live
  const iso = await kernel.storage.upload({ storage: 'local', content: 'iso', filename: 'corral-test.iso', stream: Readable.from([Buffer.alloc(2 * 1024 * 1024, 0x41)]) });
  const cd = await kernel.guests.update(vmid, { set: { ide2: `${iso},media=cdrom` } }, { caller: ROOT_CALLER });
  t.deepEqual(cd.applied, ['ide2']);
  const blocks = await withQmp(join(kernel.dir, 'run', 'qemu', '100', 'qmp.sock'), (qmp) => qmp.execute<Array<{ qdev?: string; inserted?: { file: string } }>>('query-block'));
  t.regex(blocks.find((b) => b.qdev?.includes('ide2'))?.inserted?.file ?? '', /corral-test\.iso/);

  // memory and cores cannot change live: pending
  const pending = await kernel.guests.update(vmid, { set: { memory: 384, cores: 2, description: 'changed live' } }, { caller: ROOT_CALLER });
  t.deepEqual([...pending.pending].sort(), ['cores', 'memory']);
  t.deepEqual(pending.applied, ['description']);
  const view = await kernel.guests.config(vmid);
  t.deepEqual(view.pending, { memory: '384', cores: '2' });
  t.is(view.config.memory, '256');

  // unplug: device_del, DEVICE_DELETED for that device, blockdev-del; the guest sees it go
  from = serial.mark();
  const unplugged = await kernel.guests.update(vmid, { delete: ['virtio1', 'net1'] }, { caller: ROOT_CALLER });
  t.deepEqual([...unplugged.applied].sort(), ['net1', 'virtio1']);
  t.truthy(await serial.waitForLine(/^CORRAL-DISK-REMOVED name=vd/, { from }));
  t.truthy(await serial.waitForLine(/^CORRAL-NIC-REMOVED /, { from }));
  await t.throwsAsync(readFile('/sys/class/net/fwbr100i1/uevent'), { code: 'ENOENT' }, 'the unplugged NIC\'s firewall port is gone');
  // as Proxmox, the unplugged volume is kept as unusedN (destroy frees it)
  t.is((await kernel.guests.config(vmid)).config.unused0, hotVolid);

  // clean shutdown through the guest agent
  from = serial.mark();
  await kernel.guests.shutdown(vmid, { timeoutMs: 60_000 });
  t.regex((await serial.waitForLine(/^CORRAL-GA-SHUTDOWN /, { from, timeoutMs: 1 })).line, /poweroff/);
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  t.false(await processExists(pid));
  await t.throwsAsync(kernel.guests.stop(vmid), { instanceOf: InvalidStateError });
  await t.throwsAsync(readFile(`${cpuDir}/cpu.shares`), { code: 'ENOENT' });
  await t.throwsAsync(readFile('/sys/class/net/tap100i0/uevent'), { code: 'ENOENT' });
  const runDir = join(kernel.dir, 'run', 'qemu', '100');
  t.deepEqual(await readdir(runDir), ['qemu.log', 'serial0.log'], 'only the logs stay after a stop');

  await kernel.guests.destroy(vmid);
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid }), []);
  await t.throwsAsync(kernel.guests.status(vmid), { code: 'CORRAL_ERR_NOT_FOUND' });
});

qemuTest.serial('ACPI shutdown without agent; hard stop; reboot; suspend and resume', async (t) => {
  const env = await kvmTestKernel(t);
  const { kernel } = env;
  const { vmid } = await kernel.guests.create('qemu', testGuestConfig(env, { agent: 0 }), { caller: ROOT_CALLER, vmid: 110 });
  const { serial } = await bootGuest(t, kernel, vmid);

  await kernel.guests.suspend(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'paused');
  await kernel.guests.resume(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'running');

  // reset: the guest boots again inside the same QEMU process
  const pidBeforeReset = (await kernel.guests.status(vmid)).pid;
  const fromReset = serial.mark();
  await kernel.guests.reset(vmid);
  t.truthy(await serial.waitForLine(/^CORRAL-GUEST-READY/, { from: fromReset, timeoutMs: 90_000 }));
  t.is((await kernel.guests.status(vmid)).pid, pidBeforeReset);

  // reboot = clean shutdown (ACPI here) + start; the new QEMU starts paused (freeze: 1)
  let from = serial.mark();
  const pid1 = (await kernel.guests.status(vmid)).pid!;
  await kernel.guests.reboot(vmid, { timeoutMs: 60_000 });
  t.truthy(await serial.waitForLine('CORRAL-ACPI-POWERDOWN', { from, timeoutMs: 1 }));
  const after = await kernel.guests.status(vmid);
  t.not(after.pid, pid1);
  t.is(after.state, 'paused');

  // hard stop of a paused VM
  await kernel.guests.stop(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  t.false(await processExists(after.pid!));

  // ACPI shutdown without agent
  const again = await bootGuest(t, kernel, vmid);
  from = again.serial.mark();
  await kernel.guests.shutdown(vmid, { timeoutMs: 60_000 });
  t.truthy(await again.serial.waitForLine('CORRAL-ACPI-POWERDOWN', { from, timeoutMs: 1 }));
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  await kernel.guests.destroy(vmid);
});

qemuTest.serial('start refuses bad host settings before QEMU runs, and undoes everything when QEMU refuses its command line', async (t) => {
  const env = await kvmTestKernel(t);
  const { kernel } = env;
  const runDir = join(kernel.dir, 'run', 'qemu', '120');
  const { vmid } = await kernel.guests.create('qemu', testGuestConfig(env, { net0: 'virtio=BC:24:11:AA:00:09,bridge=nosuchbr0' }), {
    caller: ROOT_CALLER,
    vmid: 120,
  });
  const noBridge = await t.throwsAsync(kernel.guests.start(vmid), { instanceOf: InvalidConfigError });
  t.is(noBridge.key, 'net0');
  t.deepEqual(await readdir(runDir), []);

  await kernel.guests.update(vmid, { set: { net0: `virtio=BC:24:11:AA:00:09,bridge=${env.bridge}`, hostpci0: '0000:7f:1f.7' } }, { caller: ROOT_CALLER });
  const noDevice = await t.throwsAsync(kernel.guests.start(vmid), { instanceOf: InvalidConfigError });
  t.is(noDevice.key, 'hostpci0');

  // QEMU itself refuses: its stderr is in the error, nothing is left
  await kernel.guests.update(vmid, { delete: ['hostpci0'], set: { args: `${testGuestConfig(env).args} -device no-such-device` } }, { caller: ROOT_CALLER });
  // qm showcmd: the argv start runs, volumes resolved
  const argv = await kernel.guests.showCommand(vmid);
  t.is(argv[0], 'qemu-system-x86_64');
  t.deepEqual(argv.slice(-2), ['-device', 'no-such-device']);
  t.true(argv.some((a) => a.includes(join(kernel.dir, 'store', 'images', '120', 'vm-120-disk-0.qcow2'))));
  t.true(argv.includes('-daemonize'));
  const refused = await t.throwsAsync(kernel.guests.start(vmid), { instanceOf: CommandFailedError });
  // a daemonizing QEMU with -D writes this to its log: the error carries the log's end
  t.regex(refused.stderr, /no-such-device/);
  t.true(refused.stderr.includes(join(runDir, 'qemu.log')));
  t.deepEqual(await readdir(runDir), ['qemu.log', 'serial0.log'], 'only the logs are left (qemu.log says why)');
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  await t.throwsAsync(readFile(`/sys/fs/cgroup/cpu/${env.cgroupParent}/120.scope/cpu.shares`), { code: 'ENOENT' });
  await kernel.guests.destroy(vmid);
});

ovmfTest.serial('q35 with OVMF and an efidisk: boots, and hot-plugs a SCSI controller and disk through the PCI bridge', async (t) => {
  const env = await kvmTestKernel(t);
  const { kernel } = env;
  const { scsi0: _none, net0: _net, ...base } = testGuestConfig(env);
  const { vmid } = await kernel.guests.create(
    'qemu',
    { ...base, machine: 'q35', bios: 'ovmf', efidisk0: 'local:1,efitype=4m', virtio0: 'local:1,serial=Q35DISK' },
    { caller: ROOT_CALLER, vmid: 170 },
  );
  const efidisk = (await kernel.guests.config(vmid)).config.efidisk0!;
  t.regex(efidisk, /^local:170\/vm-170-disk-\d\.raw,efitype=4m,size=528K$/);
  // OVMF's console output runs into the guest's first line (no line feed before it), so the
  // boot report parser of test/support cannot anchor on CORRAL-GUEST-INIT: read the disks here.
  await kernel.guests.start(vmid);
  const serial = await connectSerial(t, kernel, vmid);
  await kernel.guests.resume(vmid);
  const ready = await serial.waitForLine(/^CORRAL-GUEST-READY /, { timeoutMs: 60_000 });
  const disks = serial.lines.slice(0, ready.index).filter((l) => l.startsWith('CORRAL-DISK ')).map(parseDiskMarker);
  t.deepEqual(disks.map((d) => [d.serial, d.sizeBytes]), [['Q35DISK', 1024 ** 3]]);
  // the blank efidisk got the OVMF variable store template
  const efiPath = join(kernel.dir, 'store', 'images', '170', efidisk.split(',')[0]!.split('/')[1]!);
  t.is((await readFile(efiPath)).subarray(40, 44).toString('latin1'), '_FVH');

  const from = serial.mark();
  const plugged = await kernel.guests.update(vmid, { set: { scsi1: 'local:1,serial=Q35HOT' } }, { caller: ROOT_CALLER });
  t.deepEqual(plugged.applied, ['scsi1']);
  const added = await serial.waitForLine(/^CORRAL-DISK-ADDED .*serial=Q35HOT/, { from });
  t.regex(added.line, /model=QEMUHARDDISK/);
  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid }), []);
});

// Boots the real test guest (Debian cloud kernel + busybox initramfs, see
// scripts/build-test-guest.sh) under QEMU/TCG and checks it end to end through the serial
// console, QMP and the guest agent. One guest at a time (test.serial): TCG timings get
// unreliable with more than three guests on this machine.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, realTest } from '@corral/core/testing';
import { parseDiskMarker } from '../support/guestMarkers.js';
import { spawnTestGuest } from '../support/spawnTestGuest.js';
import { testGuestUnavailableReason } from '../support/testGuestImage.js';

const execFileAsync = promisify(execFile);
const unavailable = testGuestUnavailableReason();
const guestTest = realTest(test, unavailable === undefined, unavailable ?? '');

const MiB = 1024 * 1024;

async function readBytes(file: string, offset: number, length: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, offset);
    return buf.toString('utf8');
  } finally {
    await fh.close();
  }
}

guestTest.serial('boots the test guest: disks, NIC, agent, serial commands, hotplug, ACPI power button', async (t) => {
  const dirGuest = await makeTempDir(t, 'corral-guest-images-');
  const vda = join(dirGuest, 'vda.qcow2');
  const sda = join(dirGuest, 'sda.raw');
  const hot = join(dirGuest, 'hot.raw');
  await execFileAsync('qemu-img', ['create', '-f', 'qcow2', vda, '64M']);
  await execFileAsync('qemu-img', ['create', '-f', 'raw', sda, '8M']);
  await execFileAsync('qemu-img', ['create', '-f', 'raw', hot, '4M']);

  const guest = await spawnTestGuest(t, {
    disks: [
      { id: 'virtio0', file: vda, format: 'qcow2', serial: 'CRLDISK0' },
      { id: 'scsi0', file: sda, format: 'raw', bus: 'scsi', serial: 'CRLSCSI0' },
    ],
    nics: [{ id: 'net0', mac: '52:54:00:c0:ff:ee' }],
  });
  const boot = await guest.ready();
  t.log(`READY ${boot.bootMs} ms after spawn (guest uptime ${boot.guestUptimeSeconds} s), kernel ${boot.kernel}`);

  t.is(boot.protocol, 1);
  t.deepEqual(boot.failedModules, []);
  t.deepEqual(boot.disks, [
    { name: 'sda', sizeBytes: 8 * MiB, serial: 'CRLSCSI0', model: 'QEMUHARDDISK', hctl: '0:0:0:0' },
    { name: 'vda', sizeBytes: 64 * MiB, serial: 'CRLDISK0', model: undefined, hctl: undefined },
  ]);
  t.deepEqual(boot.nics, [{ name: 'eth0', mac: '52:54:00:c0:ff:ee', driver: 'virtio_net' }]);
  t.true(boot.agentStarted);

  // Guest agent.
  const agent = await guest.agent({ timeoutMs: 20_000 });
  await agent.ping({ timeoutMs: 5000 });
  t.regex((await agent.info()).version, /^\d+\.\d+\.\d+$/);
  const ran = await agent.run({ path: '/bin/cat', args: ['/sys/block/vda/serial'] }, { timeoutMs: 10_000 });
  t.deepEqual(ran, { exitCode: 0, signal: undefined, stdout: 'CRLDISK0', stderr: '', truncated: false });
  const failing = await agent.run({ path: '/bin/sh', args: ['-c', 'echo oops >&2; exit 3'] }, { timeoutMs: 10_000 });
  t.is(failing.exitCode, 3);
  t.is(failing.stderr, 'oops\n');
  t.is(await agent.fsFreezeStatus(), 'thawed');

  // Serial command protocol: write through the guest, read the host file.
  const write = await guest.serial.run('corral-disk-write /dev/sda 4096 hello-corral', { timeoutMs: 10_000 });
  t.deepEqual(write, { rc: 0, output: [] });
  t.is(await readBytes(sda, 4096, 12), 'hello-corral');
  const read = await guest.serial.run('corral-disk-read /dev/sda 4096 12; echo; corral-disk-md5 /dev/sda 4096 12', { timeoutMs: 10_000 });
  t.deepEqual(read, { rc: 0, output: ['hello-corral', createHash('md5').update('hello-corral').digest('hex')] });
  t.is((await guest.serial.run('exit 7')).rc, 7);

  // Hotplug and unplug of a virtio-blk disk.
  const mark = guest.serial.mark();
  await guest.qmp.execute('blockdev-add', { driver: 'raw', 'node-name': 'hot1', file: { driver: 'file', filename: hot } });
  await guest.qmp.execute('device_add', { driver: 'virtio-blk-pci', drive: 'hot1', id: 'hot1', serial: 'CRLHOT1' });
  const added = await guest.serial.waitForLine(/^CORRAL-DISK-ADDED .*serial=CRLHOT1/, { from: mark, timeoutMs: 20_000 });
  t.deepEqual(parseDiskMarker(added.line), { name: 'vdb', sizeBytes: 4 * MiB, serial: 'CRLHOT1', model: undefined, hctl: undefined });
  const deleted = await guest.qmp.deviceDel('hot1', { timeoutMs: 30_000 });
  t.is(deleted.data.device, 'hot1');
  await guest.serial.waitForLine('CORRAL-DISK-REMOVED name=vdb', { from: added.index, timeoutMs: 10_000 });
  await guest.qmp.execute('blockdev-del', { 'node-name': 'hot1' });

  // ACPI power button.
  const shutdown = guest.qmp.waitForEvent('SHUTDOWN', { timeoutMs: 30_000 });
  const pressedAt = Date.now();
  await guest.qmp.execute('system_powerdown');
  await guest.serial.waitForLine('CORRAL-ACPI-POWERDOWN', { timeoutMs: 20_000 });
  t.deepEqual((await shutdown).data, { guest: true, reason: 'guest-shutdown' });
  t.deepEqual(await guest.qemu.waitExit({ timeoutMs: 20_000 }), { code: 0, signal: null });
  t.log(`powered off ${Date.now() - pressedAt} ms after system_powerdown`);
});

guestTest.serial('guest-shutdown through the agent powers the guest off', async (t) => {
  const guest = await spawnTestGuest(t, { disks: [] });
  // Connecting before the guest is up: the handshake waits for qemu-ga to start.
  const agent = await guest.agent({ timeoutMs: 60_000 });
  const boot = await guest.ready();
  t.true(boot.agentStarted);
  t.deepEqual(boot.disks, []);
  const shutdown = guest.qmp.waitForEvent('SHUTDOWN', { timeoutMs: 30_000 });
  await agent.shutdown();
  await guest.serial.waitForLine('CORRAL-GA-SHUTDOWN poweroff', { timeoutMs: 20_000 });
  t.is((await shutdown).data.guest, true);
  t.deepEqual(await guest.qemu.waitExit({ timeoutMs: 20_000 }), { code: 0, signal: null });
});

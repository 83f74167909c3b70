/**
 * Snapshots, rollback, templates and linked clones with real QEMU and the dir storage: bytes
 * written in the guest before a snapshot come back after a rollback, RAM state brings the
 * guest's memory back, a linked clone boots and its writes stay out of the template.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { ROOT_CALLER } from '@corral/core';
import { realTest } from '@corral/core/testing';
import type { SerialConsole } from './support/SerialConsole.js';
import { testGuestUnavailableReason } from './support/testGuestImage.js';
import { bootGuest, connectSerial, kvmTestKernel, testGuestConfig } from './support-kvm/kvmTestKernel.js';

const reason = testGuestUnavailableReason();
const qemuTest = realTest(test, reason === undefined, reason ?? '');

const OFFSET = 3 * 1024 * 1024 + 17;

async function diskWrite(serial: SerialConsole, text: string): Promise<void> {
  const r = await serial.run(`corral-disk-write /dev/sda ${OFFSET} ${text}`);
  if (r.rc !== 0) throw new Error(`write failed: ${r.output.join('\n')}`);
}

async function diskRead(serial: SerialConsole, length: number): Promise<string> {
  const r = await serial.run(`corral-disk-read /dev/sda ${OFFSET} ${length}`);
  if (r.rc !== 0) throw new Error(`read failed: ${r.output.join('\n')}`);
  return r.output.join('\n');
}

qemuTest.serial(
  'rollback restores the bytes written before a snapshot taken while running (fs-freeze) and while stopped; RAM state comes back too',
  async (t) => {
    const env = await kvmTestKernel(t);
    const { kernel } = env;
    const { vmid } = await kernel.guests.create('qemu', testGuestConfig(env), { caller: ROOT_CALLER, vmid: 130 });
    let { serial } = await bootGuest(t, kernel, vmid);

  await diskWrite(serial, 'BEFORE-SNAP1');
  await kernel.guests.snapshot(vmid, 'snap1', { description: 'running, disk only' });
  const snapTask = (await kernel.tasks.list({ type: 'qmsnapshot' }))[0]!;
  const snapLog = (await kernel.tasks.readLog(snapTask.upid)).lines.map((l) => l.t).join('\n');
  t.regex(snapLog, /froze \d+ file system/);
  t.regex(snapLog, /1 disk\(s\) in QEMU/);
  await diskWrite(serial, 'AFTER--SNAP1');
  t.is(await diskRead(serial, 12), 'AFTER--SNAP1');

  await kernel.guests.rollback(vmid, 'snap1');
  t.is((await kernel.guests.status(vmid)).state, 'stopped', 'no RAM state: rollback leaves the VM stopped');
  ({ serial } = await bootGuest(t, kernel, vmid));
  t.is(await diskRead(serial, 12), 'BEFORE-SNAP1');

  // RAM state: a file in the guest's tmpfs (RAM only) survives only through the vmstate
  t.is((await serial.run('echo RAM-ONE > /run/marker')).rc, 0);
  await diskWrite(serial, 'BEFORE-SNAP2');
  await kernel.guests.snapshot(vmid, 'snap2', { withState: true });
  const snap2 = (await kernel.guests.listSnapshots(vmid)).find((s) => s.name === 'snap2')!;
  t.true(snap2.vmstate);
  const vmstate = (await kernel.config.read(`nodes/testnode/qemu-server/${vmid}.conf`))?.content.match(/^vmstate: (\S+)$/m)?.[1];
  t.truthy(vmstate, 'the snapshot section records the state volume');
  t.is((await serial.run('echo RAM-TWO > /run/marker')).rc, 0);
  await diskWrite(serial, 'AFTER--SNAP2');

  await kernel.guests.rollback(vmid, 'snap2');
  const st = await kernel.guests.status(vmid);
  t.is(st.state, 'running', 'with RAM state the VM resumes where it was');
  serial = await connectSerial(t, kernel, vmid);
  t.deepEqual((await serial.run('cat /run/marker')).output, ['RAM-ONE']);
  t.is(await diskRead(serial, 12), 'BEFORE-SNAP2');

  // delete snapshots while running (inside QEMU) and stopped (storage); the state volume goes
  await kernel.guests.deleteSnapshot(vmid, 'snap2');
  t.deepEqual(
    (await kernel.storage.listVolumes('local', { vmid })).map((v) => v.volid).filter((v) => v === vmstate),
    [],
  );
  await kernel.guests.stop(vmid);
  await kernel.guests.snapshot(vmid, 'snap3');
  await kernel.guests.deleteSnapshot(vmid, 'snap1');
  await kernel.guests.deleteSnapshot(vmid, 'snap3');
  t.deepEqual(await kernel.guests.listSnapshots(vmid), []);
  await kernel.guests.destroy(vmid);
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid }), []);
});

qemuTest.serial('a linked clone of a template boots, sees the template data, and its writes do not reach the template', async (t) => {
  const env = await kvmTestKernel(t);
  const { kernel } = env;
  const { vmid } = await kernel.guests.create('qemu', testGuestConfig(env, { ide2: 'none,media=cdrom' }), { caller: ROOT_CALLER, vmid: 140 });
  const { serial } = await bootGuest(t, kernel, vmid);
  await diskWrite(serial, 'TEMPLATE-DATA');
  await kernel.guests.shutdown(vmid, { timeoutMs: 60_000 });
  await kernel.guests.template(vmid);
  const tpl = (await kernel.guests.config(vmid)).config;
  t.regex(tpl.scsi0!, /^local:140\/base-140-disk-0\.qcow2,/);
  t.is(tpl.ide2, 'none,media=cdrom');
  await t.throwsAsync(kernel.guests.start(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  const basePath = join(kernel.dir, 'store', 'images', '140', 'base-140-disk-0.qcow2');
  // The base is a 1 GiB sparse file (qcow2 metadata preallocated): hashing all of it takes
  // 15 s, so compare its header and metadata area, size, allocation and times instead.
  const fingerprint = async (): Promise<string> => {
    const st = await stat(basePath);
    const fh = await open(basePath, 'r');
    try {
      const head = Buffer.alloc(8 * 1024 * 1024);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      return [st.size, st.blocks, st.mtimeMs, st.ctimeMs, createHash('md5').update(head.subarray(0, bytesRead)).digest('hex')].join(' ');
    } finally {
      await fh.close();
    }
  };
  const before = await fingerprint();
  const { newid } = await kernel.guests.clone(vmid, { caller: ROOT_CALLER, newid: 141, name: 'clone1' });
  const clone = (await kernel.guests.config(newid)).config;
  t.regex(clone.scsi0!, /^local:140\/base-140-disk-0\.qcow2\/141\/vm-141-disk-0\.qcow2,/);
  t.is(clone.ide2, 'none,media=cdrom', 'cdroms are not cloned');
  t.not(clone.net0, tpl.net0, 'a clone gets a fresh MAC');

  const booted = await bootGuest(t, kernel, newid);
  t.is(booted.report.disks.find((d) => d.serial === 'CORRALSCSI0')?.sizeBytes, 1024 ** 3);
  t.is(await diskRead(booted.serial, 13), 'TEMPLATE-DATA');
  await diskWrite(booted.serial, 'CLONE-WRITES!');
  t.is(await diskRead(booted.serial, 13), 'CLONE-WRITES!');
  await kernel.guests.stop(newid);
  t.is(await fingerprint(), before, 'the template base is unchanged');

  // A full clone to another storage: export/import streams, a standalone image there.
  await kernel.storage.add('other', 'dir', { path: join(kernel.dir, 'other-store'), content: 'images', mkdir: 1 }, { caller: ROOT_CALLER });
  const full = await kernel.guests.clone(vmid, { caller: ROOT_CALLER, newid: 142, full: true, storage: 'other' });
  const fullConfig = (await kernel.guests.config(full.newid)).config;
  t.regex(fullConfig.scsi0!, /^other:142\/vm-142-disk-0\.(raw|qcow2),/);
  const fullVolid = fullConfig.scsi0!.split(',')[0]!;
  t.is((await kernel.storage.volumeInfo(fullVolid)).parent, undefined, 'a full clone has no backing base');
  const fullBoot = await bootGuest(t, kernel, full.newid);
  t.is(await diskRead(fullBoot.serial, 13), 'TEMPLATE-DATA', 'the full copy carries the template bytes');
  await kernel.guests.stop(full.newid);
  await kernel.guests.destroy(full.newid);
  t.deepEqual(await kernel.storage.listVolumes('other', {}), []);

  await kernel.guests.destroy(newid);
  await kernel.guests.destroy(vmid);
  t.deepEqual(await kernel.storage.listVolumes('local', {}), []);
});

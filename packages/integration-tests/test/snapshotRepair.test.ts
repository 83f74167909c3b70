/**
 * Config and disks agree on snapshots after an interrupted snapshot operation (issue 25,
 * point 6): `unlock` drops a half-taken (`snapstate: prepare`) or half-deleted
 * (`snapstate: delete`) section with what is left of it, and a finished section whose disks
 * lost the snapshot (a rollback to it could never work); `deleteSnapshot` with `force` removes
 * a section whose volume snapshots cannot be deleted. Real: dir storage, qcow2 internal
 * snapshots; the crash states are written as a killed process leaves them.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { ErrorCodes, ROOT_CALLER, type Kernel } from '@corral/core';
import { openTestNode } from './support/nodeKernel.js';
import { checkStorageInvariants } from './support/storageInvariants.js';

const vm = { memory: 64, kvm: 0, vga: 'none' };
const CONFIG = 'nodes/testnode/qemu-server/100.conf';

/** A stopped VM 100 with two qcow2 disks and snapshot `snapa`; returns the disks' volids. */
async function vmWithSnapshot(kernel: Kernel): Promise<string[]> {
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 });
  await kernel.guests.snapshot(100, 'snapa');
  const { config } = await kernel.guests.config(100);
  return [config.scsi0!, config.scsi1!].map((v) => v.split(',')[0]!);
}

/** Rewrites the config text as a process killed in the middle would have left it. */
async function editConfig(kernel: Kernel, edit: (text: string) => string): Promise<void> {
  const file = await kernel.config.read(CONFIG);
  await kernel.config.write(CONFIG, edit(file!.content), { expectedDigest: file!.digest });
}

/** Makes deleting the volume's snapshots fail for real: its qcow2 header is overwritten. */
async function breakQcow2(kernel: Kernel, volid: string): Promise<void> {
  const access = await kernel.storage.resolve(volid);
  if (access.kind !== 'file') throw new Error(`${volid} is not a file`);
  await writeFile(access.path, Buffer.alloc(4096, 0xab), { flag: 'r+' });
}

async function warningsOf(kernel: Kernel, upid: string): Promise<string[]> {
  return (await kernel.tasks.readLog(upid, { limit: 10_000 })).lines.map((l) => l.t).filter((l) => l.startsWith('WARN: '));
}

test('unlock drops a finished snapshot whose disks lost it, with a warning naming the disk; config and disks agree, rollback no longer offers it', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-snaprepair-');
  const [disk0, disk1] = await vmWithSnapshot(kernel);
  await kernel.guests.snapshot(100, 'snapb');
  // The crash: 'snapb' committed in the config, but disk1 has no snapshot 'snapb' (and the lock stayed).
  await kernel.storage.snapshotDelete(disk1!, 'snapb');
  await editConfig(kernel, (text) => `lock: snapshot\n${text}`);
  t.deepEqual((await checkStorageInvariants(kernel)).leftovers, ['100: lock snapshot', `${disk1} lacks @snapb`]);

  const result = await kernel.guests.unlock(100, { caller: ROOT_CALLER });
  t.deepEqual(result.droppedSnapshots, ['snapb']);
  const warned = await warningsOf(kernel, result.upid);
  t.true(
    warned.some((w) => w.includes(`dropped snapshot 'snapb': ${disk1} has no such snapshot`)),
    warned.join(' | '),
  );
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
  t.deepEqual((await kernel.storage.snapshotList(disk0!)).map((s) => s.name), ['snapa'], "disk0's 'snapb' went with the section");
  t.deepEqual((await kernel.guests.listSnapshots(100)).map((s) => s.name).filter((n) => n !== 'current'), ['snapa']);
  await t.throwsAsync(kernel.guests.rollback(100, 'snapb'), { code: ErrorCodes.notFound });
  await kernel.guests.rollback(100, 'snapa');
  t.is((await kernel.guests.config(100)).config.parent, 'snapa');
});

test('a snapshot delete marks its section snapstate delete first; unlock after a crash there finishes the delete', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-snaprepair-');
  const disks = await vmWithSnapshot(kernel);
  // The crash: the lock write (which also marks the section) landed, then the process died
  // after deleting the snapshot of the first disk only.
  await kernel.storage.snapshotDelete(disks[0]!, 'snapa');
  await editConfig(kernel, (text) => `lock: snapshot-delete\n${text.replace('[snapa]\n', '[snapa]\nsnapstate: delete\n')}`);
  const result = await kernel.guests.unlock(100, { caller: ROOT_CALLER });
  t.deepEqual(result.droppedSnapshots, ['snapa']);
  const warned = await warningsOf(kernel, result.upid);
  t.false(
    warned.some((w) => w.includes('dropped snapshot')),
    `finishing an interrupted delete is no news: ${warned.join(' | ')}`,
  );
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
  for (const d of disks) t.deepEqual(await kernel.storage.snapshotList(d), [], `${d} has no snapshot left`);
  t.false('parent' in (await kernel.guests.config(100)).config);
});

test('deleteSnapshot writes snapstate delete under its lock before touching the volumes', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-snaprepair-');
  const [disk0] = await vmWithSnapshot(kernel);
  // Make the volume step fail, then look at the config it left.
  await breakQcow2(kernel, disk0!);
  await t.throwsAsync(kernel.guests.deleteSnapshot(100, 'snapa'), { code: ErrorCodes.parse });
  const text = (await kernel.config.read(CONFIG))!.content;
  t.regex(text, /\[snapa\]\n(?:.*\n)*?snapstate: delete\n/, text);
  t.notRegex(text, /^lock:/m, 'the lock is cleared after the failure');
  // A half-deleted snapshot cannot be rolled back to; deleting it again (with force) finishes it.
  await t.throwsAsync(kernel.guests.rollback(100, 'snapa'), { code: ErrorCodes.invalidState });
});

test('deleteSnapshot with force removes a section whose volume snapshots cannot be deleted, with a warning; without force it is refused and kept', async (t) => {
  const { kernel } = await openTestNode(t, 'corral-snaprepair-');
  const [disk0, disk1] = await vmWithSnapshot(kernel);
  await breakQcow2(kernel, disk0!);
  await t.throwsAsync(kernel.guests.deleteSnapshot(100, 'snapa'), { code: ErrorCodes.parse });
  t.true((await kernel.guests.listSnapshots(100)).some((s) => s.name === 'snapa'), 'kept without force');
  let upid: string | undefined;
  await kernel.guests.deleteSnapshot(100, 'snapa', { force: true, onTask: (u) => (upid = u) });
  t.false((await kernel.guests.listSnapshots(100)).some((s) => s.name === 'snapa'));
  const warned = await warningsOf(kernel, upid!);
  t.true(
    warned.some((w) => /snapshot 'snapa': deleting the volume snapshots failed .*force/.test(w)),
    warned.join(' | '),
  );
  // The other disk's snapshot went too; the broken image is still listed as the guest's volume.
  t.deepEqual(await kernel.storage.snapshotList(disk1!), []);
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
});

/**
 * Clone and ownership, and callers that only core can make privileged (issue 25, point 4):
 * - an unprivileged caller cannot clone (full or linked) a guest holding another guest's
 *   volume, which it could not attach itself; a privileged caller can;
 * - `storage` on a linked clone is refused, as Proxmox refuses it;
 * - a look-alike of a privileged caller (a literal, a JSON or spread copy...) is refused with
 *   the coded PermissionError by every facade operation, and changes nothing; a caller minted
 *   by core works.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  definePlugin,
  ErrorCodes,
  extensionPoints,
  InvalidArgumentError,
  PermissionError,
  PLUGIN_API_VERSION,
  privilegedCaller,
  ROOT_CALLER,
  unprivilegedCaller,
  type Caller,
  type Kernel,
  type ParsedVolname,
  type StorageContext,
} from '@corral/core';
import { DirStorageDriver } from '@corral/plugin-storage-dir';
import { makeTempDir } from '@corral/core/testing';
import { addLocalStorage, openNodeKernel, testPlugins } from './support/nodeKernel.js';

const vm = { memory: 64, kvm: 0, vga: 'none' };
const disk = 'local:0.01,format=qcow2';
const alice = unprivilegedCaller('alice@pve');

async function node(t: ExecutionContext): Promise<{ kernel: Kernel; base: string }> {
  const base = await makeTempDir(t, 'corral-caller-');
  const kernel = await openNodeKernel(base);
  t.teardown(() => kernel.dispose());
  await addLocalStorage(kernel, base);
  return { kernel, base };
}

/** The volid of `key` in guest `vmid`'s config. */
async function volumeOf(kernel: Kernel, vmid: number, key: string): Promise<string> {
  const value = (await kernel.guests.config(vmid)).config[key];
  if (value === undefined) throw new Error(`guest ${vmid} has no ${key}`);
  return value.split(',')[0]!;
}

/** Asserts that guest `vmid` does not exist and owns no volume on `local`. */
async function assertNoGuest(t: ExecutionContext, kernel: Kernel, vmid: number): Promise<void> {
  t.false((await kernel.guests.list()).some((g) => g.vmid === vmid), `no guest ${vmid}, not even a placeholder`);
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid }), [], `no volume of ${vmid}`);
}

/** Asserts that guest `vmid` has its own volumes at `keys`, each existing on `storage`. */
async function assertOwnDisks(t: ExecutionContext, kernel: Kernel, vmid: number, keys: readonly string[], storage = 'local'): Promise<void> {
  const existing = new Set((await kernel.storage.listVolumes(storage, { vmid })).map((v) => v.volid));
  for (const key of keys) {
    const volid = await volumeOf(kernel, vmid, key);
    t.is((await kernel.storage.parse(volid)).vmid, vmid, `${key} of ${vmid} is its own volume: ${volid}`);
    t.is(volid.slice(0, volid.indexOf(':')), storage, `${key} on ${storage}`);
    t.true(existing.has(volid), `${volid} exists`);
  }
}

test("clone (full): an unprivileged caller cannot clone a VM holding another guest's volume; a privileged caller can", async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 101 });
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 100 });
  const other = await volumeOf(kernel, 101, 'scsi0');
  await kernel.guests.update(100, { set: { scsi1: other } }, { caller: ROOT_CALLER });

  for (const caller of [alice, undefined]) {
    const err = await t.throwsAsync(kernel.guests.clone(100, { newid: 102, full: true, caller }), { instanceOf: PermissionError });
    t.is(err!.code, ErrorCodes.permission);
    t.is(err!.key, 'scsi1');
    t.regex(err!.message, /a volume of guest 101/);
    await assertNoGuest(t, kernel, 102);
  }

  const { newid } = await kernel.guests.clone(100, { newid: 102, caller: ROOT_CALLER });
  t.is(newid, 102);
  await assertOwnDisks(t, kernel, 102, ['scsi0', 'scsi1']);
  t.is(await volumeOf(kernel, 101, 'scsi0'), other, "guest 101's disk is untouched");
  t.true((await kernel.storage.listVolumes('local', { vmid: 101 })).some((v) => v.volid === other));
});

test("clone (linked): an unprivileged caller cannot clone a template holding another template's base; its own bases it can", async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 201 });
  await kernel.guests.template(201);
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 200 });
  await kernel.guests.template(200);
  const otherBase = await volumeOf(kernel, 201, 'scsi0');
  await kernel.guests.update(200, { set: { scsi1: otherBase } }, { caller: ROOT_CALLER });

  const err = await t.throwsAsync(kernel.guests.clone(200, { newid: 202, caller: alice }), { instanceOf: PermissionError });
  t.is(err!.key, 'scsi1');
  t.regex(err!.message, /a volume of guest 201/);
  await assertNoGuest(t, kernel, 202);

  await kernel.guests.clone(200, { newid: 202, caller: ROOT_CALLER });
  await assertOwnDisks(t, kernel, 202, ['scsi0', 'scsi1']);
  t.true((await kernel.storage.linkedClones(otherBase)).includes(await volumeOf(kernel, 202, 'scsi1')), 'scsi1 is a linked clone of 201\'s base');
  // The rule is about other guests' volumes: a template's own bases clone for anyone.
  await kernel.guests.clone(201, { newid: 203, caller: alice });
  await assertOwnDisks(t, kernel, 203, ['scsi0']);
});

test("clone: 'storage' on a linked clone is refused before anything is written (as Proxmox); on a full clone it is the target", async (t) => {
  const { kernel, base } = await node(t);
  const otherDir = join(base, 'other');
  await mkdir(otherDir);
  await kernel.storage.add('other', 'dir', { path: otherDir, content: 'images,rootdir' }, { caller: ROOT_CALLER });
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 300 });
  await kernel.guests.template(300);
  for (const options of [{ storage: 'other' }, { storage: 'local' }, { storage: 'other', full: false }]) {
    const err = await t.throwsAsync(kernel.guests.clone(300, { newid: 301, ...options }), { instanceOf: InvalidArgumentError }, JSON.stringify(options));
    t.is(err!.code, ErrorCodes.invalidArgument);
    t.is(err!.argument, 'storage');
    t.regex(err!.message, /not allowed for linked clones/);
    await assertNoGuest(t, kernel, 301);
  }
  // Linked clones of a snapshot are refused the same way (before the storage is asked).
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 310 });
  await kernel.guests.snapshot(310, 's1');
  const snapErr = await t.throwsAsync(kernel.guests.clone(310, { newid: 311, full: false, snapshot: 's1', storage: 'other' }), { instanceOf: InvalidArgumentError });
  t.is(snapErr!.argument, 'storage');
  await assertNoGuest(t, kernel, 311);

  await kernel.guests.clone(300, { newid: 301, full: true, storage: 'other' });
  await assertOwnDisks(t, kernel, 301, ['scsi0'], 'other');
});

/** Objects that say `privileged: true` without having been minted by core. */
function lookAlikes(): Array<[string, Caller]> {
  return [
    ['a literal from a request body', JSON.parse('{"user":"root@pam","privileged":true}') as Caller],
    ['a JSON round trip of ROOT_CALLER', JSON.parse(JSON.stringify(ROOT_CALLER)) as Caller],
    ['a spread copy of ROOT_CALLER', { ...ROOT_CALLER }],
    ['Object.create(ROOT_CALLER)', Object.create(ROOT_CALLER) as Caller],
    ['a literal for another user', { user: 'mallory@pve', privileged: true }],
  ];
}

test('a look-alike of a privileged caller is refused with CORRAL_ERR_PERMISSION by create, update, clone, destroy and storage add/update/remove, and changes nothing', async (t) => {
  const { kernel, base } = await node(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 100 });
  const before100 = await kernel.guests.config(100);
  const otherDir = join(base, 'other');
  await mkdir(otherDir);

  const refused = async (what: string, op: () => Promise<unknown>): Promise<void> => {
    const err = await t.throwsAsync(op(), { instanceOf: PermissionError }, what);
    t.is(err!.code, ErrorCodes.permission, what);
    t.is(err!.key, 'caller', what);
    t.regex(err!.message, /privilegedCaller\(\)/, what);
  };
  for (const [what, caller] of lookAlikes()) {
    // Innocent requests too: the caller itself is refused, whatever it asks.
    await refused(`create (${what})`, () => kernel.guests.create('qemu', { ...vm }, { vmid: 150, caller }));
    await refused(`create with args (${what})`, () => kernel.guests.create('qemu', { ...vm, args: '-no-reboot' }, { vmid: 150, caller }));
    await refused(`update (${what})`, () => kernel.guests.update(100, { set: { args: '-no-reboot', memory: '128' } }, { caller }));
    await refused(`clone (${what})`, () => kernel.guests.clone(100, { newid: 151, caller }));
    await refused(`destroy (${what})`, () => kernel.guests.destroy(100, { caller }));
    await refused(`storage.add (${what})`, () => kernel.storage.add('other', 'dir', { path: otherDir, content: 'iso' }, { caller }));
    await refused(`storage.update (${what})`, () => kernel.storage.update('local', { path: otherDir }, { caller }));
    await refused(`storage.remove (${what})`, () => kernel.storage.remove('local', { caller }));
  }
  t.deepEqual((await kernel.guests.list()).map((g) => g.vmid), [100], 'no guest made, none destroyed');
  t.deepEqual(await kernel.guests.config(100), before100, 'guest 100 unchanged');
  t.deepEqual((await kernel.storage.list()).map((s) => s.id), ['local'], 'no storage added or removed');
  t.not((await kernel.storage.get('local')).options.path, otherDir);

  // The real ones: ROOT_CALLER and a caller minted by privilegedCaller().
  const admin = privilegedCaller('admin@pam');
  await kernel.guests.create('qemu', { ...vm, args: '-no-reboot' }, { vmid: 150, caller: admin });
  t.is((await kernel.guests.config(150)).config.args, '-no-reboot');
  await kernel.guests.update(100, { set: { args: '-no-shutdown' } }, { caller: admin });
  t.is((await kernel.guests.config(100)).config.args, '-no-shutdown');
  await kernel.guests.clone(100, { newid: 151, caller: ROOT_CALLER });
  t.is((await kernel.guests.config(151)).config.args, '-no-shutdown');
  await assertOwnDisks(t, kernel, 151, ['scsi0']);
  await kernel.guests.destroy(151, { caller: admin });
  t.false((await kernel.guests.list()).some((g) => g.vmid === 151));
  await kernel.storage.add('other', 'dir', { path: otherDir, content: 'iso' }, { caller: admin });
  t.is((await kernel.storage.get('other')).options.path, otherDir);
  await kernel.storage.remove('other', { caller: ROOT_CALLER });
  t.false((await kernel.storage.list()).some((s) => s.id === 'other'));
});

test('an unprivileged plain-object caller keeps working and grants nothing', async (t) => {
  const { kernel } = await node(t);
  const plain = JSON.parse('{"user":"alice@pve","privileged":false}') as Caller;
  const { upid } = await kernel.guests.create('qemu', { ...vm }, { vmid: 100, caller: plain });
  t.regex(upid, /:alice@pve:$/);
  const err = await t.throwsAsync(kernel.guests.update(100, { set: { args: '-no-reboot' } }, { caller: plain }), { instanceOf: PermissionError });
  t.is(err!.key, 'args');
  t.false('args' in (await kernel.guests.config(100)).config);
});

test("template: a guest holding another guest's volume cannot become a template, for any caller; nothing changes", async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 101 });
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 100 });
  const other = await volumeOf(kernel, 101, 'scsi0');
  await kernel.guests.update(100, { set: { scsi1: other } }, { caller: ROOT_CALLER });
  const before = await kernel.guests.config(100);
  for (const caller of [alice, ROOT_CALLER]) {
    const err = await t.throwsAsync(kernel.guests.template(100, { caller }), { code: ErrorCodes.conflict });
    t.regex(err!.message, /scsi1 is local:101\/vm-101-disk-0\.qcow2, a volume of guest 101/);
  }
  t.is((await kernel.guests.config(100)).digest, before.digest, 'the config is unchanged');
  t.is(await volumeOf(kernel, 101, 'scsi0'), other, "guest 101's disk keeps its name");
  t.true((await kernel.storage.listVolumes('local', { vmid: 101 })).some((v) => v.volid === other), "guest 101's disk exists");
  // Without the foreign disk it works.
  await kernel.guests.update(100, { delete: ['scsi1'] }, { caller: ROOT_CALLER });
  await kernel.guests.template(100);
  t.regex(await volumeOf(kernel, 100, 'scsi0'), /^local:100\/base-100-disk-0\.qcow2$/);
});

/**
 * A storage whose `lunN` volumes belong to no guest, as iSCSI LUNs (one may hold a volume group
 * with every guest's disks): the dir driver, with LUN names parsed as a LUN storage parses them.
 */
class LunNamedDirDriver extends DirStorageDriver {
  override parseVolname(ctx: StorageContext, volname: string): ParsedVolname {
    if (/^lun\d+$/.test(volname)) return { volname, content: 'images', name: volname, format: 'raw', isBase: false };
    return super.parseVolname(ctx, volname);
  }
}

test('a disk of no guest (a LUN) can be attached only by a privileged caller, as Proxmox asks Datastore.Allocate', async (t) => {
  const base = await makeTempDir(t, 'corral-lun-');
  const luns = definePlugin({ id: 'storage-luns', apiVersion: PLUGIN_API_VERSION, register: (env) => env.extend(extensionPoints.storageDrivers, 'lundir', new LunNamedDirDriver()) });
  const kernel = await openNodeKernel(base, { plugins: [...testPlugins(), luns] });
  t.teardown(() => kernel.dispose());
  await addLocalStorage(kernel, base);
  await mkdir(join(base, 'luns'));
  await kernel.storage.add('luns', 'lundir', { path: join(base, 'luns'), content: 'images' }, { caller: ROOT_CALLER });
  await kernel.guests.create('qemu', { ...vm, scsi0: disk }, { vmid: 100 });
  const err = await t.throwsAsync(kernel.guests.update(100, { set: { scsi1: 'luns:lun0' } }, { caller: alice }), { instanceOf: PermissionError });
  t.is((err as PermissionError).key, 'scsi1');
  t.regex(err!.message, /luns:lun0 is a disk of no guest/);
  t.false('scsi1' in (await kernel.guests.config(100)).config);
  // An ISO (a file of no guest) stays allowed; root may attach the LUN.
  await kernel.guests.update(100, { set: { scsi1: 'luns:lun0' } }, { caller: ROOT_CALLER });
  t.is((await kernel.guests.config(100)).config.scsi1, 'luns:lun0');
});

/**
 * The privilege model: config keys and values that reach host root are refused, with
 * PermissionError naming the key, unless the caller is privileged; the default caller is not.
 * Each row is a config a portal user could pass through; the same config from a privileged
 * caller is created (the guest exists and its config holds the key and value), or, for what
 * Corral's drivers do not support, refused with the driver's coded error naming the key.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CALLER, PermissionError, ROOT_CALLER, unprivilegedCaller, type GuestType, type Kernel } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { addLocalStorage, nodeDirs, openNodeKernel } from './support/nodeKernel.js';

interface Row {
  readonly description: string;
  readonly type: GuestType;
  /** The config; `HOST` in a value stands for a private host directory of the test (see {@link hostFixtures}). */
  readonly config: Record<string, string | number>;
  /** The key the PermissionError must name. */
  readonly key: string;
  /**
   * From root: `written` (default), the guest is created and its config holds the key with
   * the value; `template`, the container is created from the template (a create parameter,
   * not kept in the config); or the message of the InvalidConfigError (naming the key) of a
   * driver that does not support the key.
   */
  readonly asRoot?: 'written' | 'template' | RegExp;
}

const unsupportedByQemu = /is not supported by Corral's QEMU driver/;

const ct = { rootfs: 'local:0.01', unprivileged: 1, memory: 64 };
const vm = { memory: 64, kvm: 0, vga: 'none' };

const refused: Row[] = [
  { description: 'raw QEMU args', type: 'qemu', config: { ...vm, args: '-kernel /boot/vmlinuz' }, key: 'args' },
  { description: 'a host file as a disk', type: 'qemu', config: { ...vm, scsi1: '/etc/shadow' }, key: 'scsi1' },
  { description: 'a host block device as a disk', type: 'qemu', config: { ...vm, virtio1: '/dev/vda' }, key: 'virtio1' },
  { description: 'the host CD-ROM drive', type: 'qemu', config: { ...vm, ide2: 'cdrom,media=cdrom' }, key: 'ide2' },
  { description: 'a host serial device', type: 'qemu', config: { ...vm, serial0: '/dev/mem' }, key: 'serial0' },
  { description: 'a host parallel port', type: 'qemu', config: { ...vm, parallel0: '/dev/parport0' }, key: 'parallel0', asRoot: unsupportedByQemu },
  { description: 'PCI passthrough', type: 'qemu', config: { ...vm, hostpci0: '0000:01:00.0' }, key: 'hostpci0' },
  { description: 'a host USB device', type: 'qemu', config: { ...vm, usb0: 'host=1d6b:0002' }, key: 'usb0', asRoot: unsupportedByQemu },
  { description: 'a VM hook script', type: 'qemu', config: { ...vm, hookscript: 'local:snippets/hook.sh' }, key: 'hookscript', asRoot: unsupportedByQemu },
  { description: 'host CPU pinning', type: 'qemu', config: { ...vm, affinity: '0-1' }, key: 'affinity', asRoot: unsupportedByQemu },
  { description: 'lxc.hook.*', type: 'lxc', config: { ...ct, 'lxc.hook.pre-start': '/bin/sh -c "id > /tmp/pwned"' }, key: 'lxc.hook.pre-start' },
  { description: 'lxc.include', type: 'lxc', config: { ...ct, 'lxc.include': '/etc/lxc/evil.conf' }, key: 'lxc.include' },
  { description: 'lxc.mount.entry', type: 'lxc', config: { ...ct, 'lxc.mount.entry': '/ host none bind 0 0' }, key: 'lxc.mount.entry' },
  { description: 'lxc cgroup device rules', type: 'lxc', config: { ...ct, 'lxc.cgroup.devices.allow': 'a' }, key: 'lxc.cgroup.devices.allow' },
  { description: 'an unconfined AppArmor profile', type: 'lxc', config: { ...ct, 'lxc.apparmor.profile': 'unconfined' }, key: 'lxc.apparmor.profile' },
  { description: 'a bind mount of the host root', type: 'lxc', config: { ...ct, mp0: '/,mp=/host' }, key: 'mp0' },
  { description: 'a host directory as rootfs', type: 'lxc', config: { ...ct, rootfs: 'HOST/rootfs' }, key: 'rootfs' },
  { description: 'a host device as a mount point', type: 'lxc', config: { ...ct, mp1: '/dev/sda1,mp=/mnt/disk' }, key: 'mp1' },
  { description: 'device passthrough', type: 'lxc', config: { ...ct, dev0: '/dev/kvm' }, key: 'dev0' },
  { description: 'container features beyond nesting', type: 'lxc', config: { ...ct, features: 'nesting=1,fuse=1' }, key: 'features' },
  { description: 'a container hook script', type: 'lxc', config: { ...ct, hookscript: 'local:snippets/hook.sh' }, key: 'hookscript' },
  { description: 'a privileged container (unprivileged: 0)', type: 'lxc', config: { ...ct, unprivileged: 0 }, key: 'unprivileged' },
  { description: "a privileged container (no 'unprivileged', as Proxmox's default)", type: 'lxc', config: { rootfs: 'local:0.01' }, key: 'unprivileged' },
  { description: 'a template read from a host path', type: 'lxc', config: { ...ct, ostemplate: 'HOST/template.tar.gz' }, key: 'ostemplate', asRoot: 'template' },
];

const allowed: Row[] = [
  {
    description: 'a serial socket, an empty CD-ROM and a storage disk',
    type: 'qemu',
    config: { ...vm, serial0: 'socket', ide2: 'none,media=cdrom', scsi0: 'local:0.01' },
    key: '',
  },
  { description: 'an unprivileged container with nesting', type: 'lxc', config: { ...ct, features: 'nesting=1', mp0: 'local:0.01,mp=/data' }, key: '' },
];

async function node(t: ExecutionContext): Promise<{ kernel: Kernel; base: string }> {
  const base = await makeTempDir(t, 'corral-priv-');
  const kernel = await openNodeKernel(base);
  t.teardown(() => kernel.dispose());
  await addLocalStorage(kernel, base);
  return { kernel, base };
}

test('the default caller is unprivileged', (t) => {
  t.false(DEFAULT_CALLER.privileged);
  t.true(ROOT_CALLER.privileged);
});

/**
 * Host paths for the rows, under `base`: `HOST/rootfs` (an empty directory) and
 * `HOST/template.tar.gz` (a template holding `/etc/os-release` and `/corral-template-marker`).
 * Returns `config` with `HOST` replaced.
 */
function hostFixtures(base: string, config: Row['config']): Row['config'] {
  const host = join(base, 'host');
  mkdirSync(join(host, 'rootfs'), { recursive: true });
  mkdirSync(join(host, 'template', 'etc'), { recursive: true });
  writeFileSync(join(host, 'template', 'etc', 'os-release'), 'ID=debian\n');
  writeFileSync(join(host, 'template', 'corral-template-marker'), 'from the template\n');
  execFileSync('tar', ['-czf', join(host, 'template.tar.gz'), '-C', join(host, 'template'), '.']);
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/^HOST\//, `${host}/`) : v]));
}

for (const row of refused) {
  const outcome = row.asRoot instanceof RegExp ? 'refused by the driver from root' : 'created from root';
  test(`create: ${row.description} (${row.key}) is refused for an unprivileged caller and ${outcome}`, async (t) => {
    const { kernel, base } = await node(t);
    const config = hostFixtures(base, row.config);
    for (const caller of [undefined, unprivilegedCaller('alice@pve')]) {
      const err = await t.throwsAsync(kernel.guests.create(row.type, config, { vmid: 100, caller }), { instanceOf: PermissionError });
      t.is(err!.code, 'CORRAL_ERR_PERMISSION');
      t.is(err!.key, row.key);
      t.regex(err!.message, new RegExp(`'${row.key.replace(/\./g, '\\.')}' needs a privileged caller`));
      t.is(err!.user, caller?.user ?? DEFAULT_CALLER.user);
    }
    t.deepEqual(await kernel.guests.list(), [], 'nothing was created');
    t.deepEqual(await kernel.storage.listVolumes('local'), [], 'nothing was allocated');
    // From root: created with the key, or refused by a driver that does not support it.
    if (row.asRoot instanceof RegExp) {
      const refusal = await t.throwsAsync(kernel.guests.create(row.type, config, { vmid: 100, caller: ROOT_CALLER }), { code: 'CORRAL_ERR_INVALID_CONFIG', message: row.asRoot });
      t.is((refusal as { key?: string } | undefined)?.key, row.key);
      t.deepEqual(await kernel.guests.list(), [], 'nothing was created');
      return;
    }
    await kernel.guests.create(row.type, config, { vmid: 100, caller: ROOT_CALLER });
    t.deepEqual(
      (await kernel.guests.list()).map((g) => [g.vmid, g.type]),
      [[100, row.type]],
      'the guest exists',
    );
    const written = (await kernel.guests.config(100)).config;
    if (row.asRoot === 'template') {
      const rootfs = await kernel.storage.resolve(written.rootfs!.split(',')[0]!, { consumer: 'container' });
      t.is(await readFile(join((rootfs as { path: string }).path, 'corral-template-marker'), 'utf8'), 'from the template\n', 'the rootfs was unpacked from the host template');
    } else if (row.key in config) {
      t.is(written[row.key], String(config[row.key]), `the config holds ${row.key}`);
    } else {
      t.false(row.key in written, `no ${row.key}: the default, as the caller asked`);
    }
  });
}

for (const row of allowed) {
  test(`create: ${row.description} needs no privilege`, async (t) => {
    const { kernel } = await node(t);
    await kernel.guests.create(row.type, row.config, { vmid: 100 });
    t.is((await kernel.guests.config(100)).type, row.type);
    await kernel.guests.destroy(100);
  });
}

test('update: setting, replacing or deleting a root-equivalent value needs a privileged caller; the config is unchanged', async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('qemu', { ...vm, serial0: '/dev/ttyS7' }, { vmid: 100, caller: ROOT_CALLER });
  const before = (await kernel.guests.config(100)).digest;
  const cases: Array<{ change: { set?: Record<string, string>; delete?: string[] }; key: string }> = [
    { change: { set: { args: '-no-reboot' } }, key: 'args' },
    { change: { set: { scsi1: '/dev/sda' } }, key: 'scsi1' },
    { change: { set: { serial0: 'socket' } }, key: 'serial0' },
    { change: { delete: ['serial0'] }, key: 'serial0' },
  ];
  for (const c of cases) {
    const err = await t.throwsAsync(kernel.guests.update(100, c.change), { instanceOf: PermissionError });
    t.is(err!.key, c.key, JSON.stringify(c.change));
  }
  t.is((await kernel.guests.config(100)).digest, before);
  await kernel.guests.update(100, { set: { memory: 128, description: 'harmless' } });
  await kernel.guests.update(100, { delete: ['serial0'] }, { caller: ROOT_CALLER });
  t.false('serial0' in (await kernel.guests.config(100)).config);
});

test('args may not set driver-owned options in any spelling, even from root', async (t) => {
  const { kernel } = await node(t);
  for (const args of [
    '-qmp unix:/tmp/x.sock,server=on',
    '--qmp unix:/tmp/y',
    '-pidfile /tmp/p',
    '--pidfile /tmp/p',
    '-S',
    '--S',
    '-daemonize',
    '-monitor stdio',
    '--mon chardev=x',
    '-incoming tcp:0:4444',
    '-readconfig /tmp/c',
    '-chroot /',
    '-runas nobody',
    '-run-with user=nobody',
    '-D /tmp/log',
    '-accel kvm',
    '-machine pc,accel=kvm',
    '-serial mon:stdio',
  ]) {
    const err = await t.throwsAsync(
      kernel.guests.create('qemu', { ...vm, args }, { vmid: 100, caller: ROOT_CALLER }),
      { code: 'CORRAL_ERR_INVALID_CONFIG' },
      args,
    );
    t.is((err as { key?: string }).key, 'args', args);
  }
  await kernel.guests.create('qemu', { ...vm, args: '-no-reboot -global kvm-pit.lost_tick_policy=discard' }, { vmid: 100, caller: ROOT_CALLER });
  t.pass();
});

test('storage paths: defining or changing a host path needs a privileged caller; paths must be normalized', async (t) => {
  const { kernel, base } = await node(t);
  const dir = `${nodeDirs(base).storePath}-2`;
  const err = await t.throwsAsync(kernel.storage.add('other', 'dir', { path: dir }), { instanceOf: PermissionError });
  t.is(err!.key, 'path');
  const err2 = await t.throwsAsync(kernel.storage.update('local', { path: '/etc' }, { caller: unprivilegedCaller('alice@pve') }), {
    instanceOf: PermissionError,
  });
  t.is(err2!.key, 'path');
  for (const path of ['//', '/', '/srv//corral', '/srv/./corral', '/srv/corral/../../etc', '/srv/corral/']) {
    const e = await t.throwsAsync(kernel.storage.add('bad', 'dir', { path }, { caller: ROOT_CALLER }), { code: 'CORRAL_ERR_INVALID_CONFIG' }, path);
    t.is((e as { key?: string }).key, 'path', path);
  }
  t.false((await kernel.storage.list()).some((s) => s.id === 'bad' || s.id === 'other'));
  await kernel.storage.add('other', 'dir', { path: dir, content: 'iso' }, { caller: ROOT_CALLER });
  // Options that reach nothing of the host need no privilege.
  await kernel.storage.update('other', { content: 'iso,vztmpl' });
  t.deepEqual((await kernel.storage.get('other')).content, ['iso', 'vztmpl']);
});

test('clone: a config with root-equivalent keys (raw args, a host device, a privileged container) is cloned only by a privileged caller', async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('qemu', { ...vm, args: '-no-reboot', serial1: '/dev/ttyS0', scsi0: 'local:0.01,format=qcow2' }, { vmid: 100, caller: ROOT_CALLER });
  await kernel.guests.template(100, { caller: ROOT_CALLER });
  const err = await t.throwsAsync(kernel.guests.clone(100, { newid: 101, caller: unprivilegedCaller('alice@pve') }), { instanceOf: PermissionError });
  t.is(err!.key, 'args');
  t.false((await kernel.guests.list()).some((g) => g.vmid === 101), 'no clone, not even a placeholder');
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid: 101 }), []);
  await kernel.guests.clone(100, { newid: 101, caller: ROOT_CALLER });
  t.is((await kernel.guests.config(101)).config.args, '-no-reboot');
  await kernel.guests.create('lxc', { rootfs: 'local:0.01', memory: 64 }, { vmid: 200, caller: ROOT_CALLER });
  const ctErr = await t.throwsAsync(kernel.guests.clone(200, { newid: 201 }), { instanceOf: PermissionError });
  t.is(ctErr!.key, 'unprivileged');
  // A bad name is refused before anything is written.
  await t.throwsAsync(kernel.guests.clone(100, { newid: 102, name: 'bad name;x', caller: ROOT_CALLER }), { code: 'CORRAL_ERR_INVALID_CONFIG' });
  t.false((await kernel.guests.list()).some((g) => g.vmid === 102));
});

test("containers: an unprivileged caller cannot change 'unprivileged' (set or delete) once the container exists", async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('lxc', { ...ct }, { vmid: 200 });
  for (const change of [{ delete: ['unprivileged'] }, { set: { unprivileged: '0' } }]) {
    const err = await t.throwsAsync(kernel.guests.update(200, change), { instanceOf: PermissionError });
    t.is(err!.key, 'unprivileged');
  }
  t.is((await kernel.guests.config(200)).config.unprivileged, '1');
});

test('volumes of other guests: an unprivileged caller cannot attach one; a guest never frees a volume it does not own', async (t) => {
  const { kernel } = await node(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01' }, { vmid: 100 });
  const other = (await kernel.guests.config(100)).config.scsi0!.split(',')[0]!;
  await kernel.guests.create('qemu', { ...vm }, { vmid: 200 });
  const alice = unprivilegedCaller('alice@pve');
  const e1 = await t.throwsAsync(kernel.guests.update(200, { set: { scsi1: other } }, { caller: alice }), { instanceOf: PermissionError });
  t.is(e1!.key, 'scsi1');
  t.regex(e1!.message, /a volume of guest 100/);
  const e2 = await t.throwsAsync(kernel.guests.create('qemu', { ...vm, scsi0: other }, { vmid: 300, caller: alice }), { instanceOf: PermissionError });
  t.is(e2!.key, 'scsi0');
  // Attached by root, detached, then deleted as unusedN: the key goes, the volume stays with its owner.
  await kernel.guests.update(200, { set: { scsi1: other } }, { caller: ROOT_CALLER });
  await kernel.guests.update(200, { delete: ['scsi1'] });
  t.is((await kernel.guests.config(200)).config.unused0, other);
  await kernel.guests.update(200, { delete: ['unused0'] });
  t.false('unused0' in (await kernel.guests.config(200)).config);
  t.true((await kernel.storage.listVolumes('local', { vmid: 100 })).some((v) => v.volid === other), "guest 100's disk is still there");
});

test('storage remove: a definition with a host path needs a privileged caller', async (t) => {
  const { kernel } = await node(t);
  const err = await t.throwsAsync(kernel.storage.remove('local', { caller: unprivilegedCaller('alice@pve') }), { instanceOf: PermissionError });
  t.is(err!.key, 'path');
  t.true((await kernel.storage.list()).some((s) => s.id === 'local'));
  await kernel.storage.remove('local', { caller: ROOT_CALLER });
  t.false((await kernel.storage.list()).some((s) => s.id === 'local'));
});

test('a caller whose user is not a Proxmox user id is refused before anything happens (no placeholder is left)', async (t) => {
  const { kernel } = await node(t);
  for (const user of ['x/../../tmp/p', 'root', '']) {
    await t.throwsAsync(kernel.guests.create('qemu', { ...vm }, { vmid: 300, caller: { user, privileged: false } }), { code: 'CORRAL_ERR_INVALID_ARGUMENT' }, user);
  }
  t.deepEqual(await kernel.guests.list(), []);
});

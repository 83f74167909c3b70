import test from 'ava';
import { readFileSync } from 'node:fs';
import { InvalidConfigError } from '../../src/errors.js';
import { parseGuestConfig } from '../../src/formats/guestConfig.js';
import { parseQemuDrive, printQemuDrive } from '../../src/formats/schema/qemuDrive.js';
import { parseQemuNet, printQemuNet, type QemuNet } from '../../src/formats/schema/qemuNet.js';
import { qemuKeySpec, validateQemuConfig } from '../../src/formats/schema/qemuConfig.js';
import { validateGuestConfig, validateGuestConfigFile } from '../../src/formats/schema/validateGuestConfig.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/formats/${name}`, import.meta.url), 'utf8');
const G = 1024 ** 3;

const validValues: Array<{ description: string; key: string; input: string; expected: unknown }> = [
  { description: 'memory as plain MiB', key: 'memory', input: '2048', expected: { current: 2048 } },
  { description: 'memory with its key', key: 'memory', input: 'current=512', expected: { current: 512 } },
  { description: 'balloon 0 disables the balloon', key: 'balloon', input: '0', expected: 0 },
  { description: 'sockets', key: 'sockets', input: '2', expected: 2 },
  { description: 'cpulimit as a fraction', key: 'cpulimit', input: '1.5', expected: 1.5 },
  { description: 'cpu type only', key: 'cpu', input: 'host', expected: { cputype: 'host' } },
  { description: 'cpu with flags', key: 'cpu', input: 'x86-64-v2-AES,flags=+pcid;-spec-ctrl', expected: { cputype: 'x86-64-v2-AES', flags: '+pcid;-spec-ctrl' } },
  { description: 'machine q35', key: 'machine', input: 'q35', expected: { type: 'q35' } },
  { description: 'versioned machine with pve revision and pxe', key: 'machine', input: 'pc-q35-8.1+pve1.pxe', expected: { type: 'pc-q35-8.1+pve1.pxe' } },
  { description: 'i440fx machine with viommu', key: 'machine', input: 'pc-i440fx-9.0,viommu=virtio', expected: { type: 'pc-i440fx-9.0', viommu: 'virtio' } },
  { description: 'bios ovmf', key: 'bios', input: 'ovmf', expected: 'ovmf' },
  { description: 'ostype', key: 'ostype', input: 'win11', expected: 'win11' },
  { description: 'boot order', key: 'boot', input: 'order=scsi0;ide2;net0', expected: { order: 'scsi0;ide2;net0' } },
  { description: 'legacy boot letters', key: 'boot', input: 'cdn', expected: { legacy: 'cdn' } },
  { description: 'agent on', key: 'agent', input: '1', expected: { enabled: true } },
  { description: 'agent with options (on/off spelled out)', key: 'agent', input: 'enabled=on,fstrim_cloned_disks=yes,type=isa', expected: { enabled: true, fstrim_cloned_disks: true, type: 'isa' } },
  { description: 'vga serial', key: 'vga', input: 'serial0', expected: { type: 'serial0' } },
  { description: 'vga with memory', key: 'vga', input: 'std,memory=32', expected: { type: 'std', memory: 32 } },
  { description: 'serial socket', key: 'serial0', input: 'socket', expected: 'socket' },
  { description: 'serial host device', key: 'serial3', input: '/dev/ttyS0', expected: '/dev/ttyS0' },
  { description: 'scsihw', key: 'scsihw', input: 'virtio-scsi-single', expected: 'virtio-scsi-single' },
  { description: 'onboot', key: 'onboot', input: '1', expected: true },
  { description: 'protection off', key: 'protection', input: '0', expected: false },
  { description: 'template', key: 'template', input: '1', expected: true },
  { description: 'lock', key: 'lock', input: 'snapshot-delete', expected: 'snapshot-delete' },
  { description: 'tags', key: 'tags', input: 'prod;web;team-a', expected: 'prod;web;team-a' },
  { description: 'smbios1 uuid', key: 'smbios1', input: 'uuid=6c1f4a2e-8d3b-4f5a-9e7c-2b1d0a9f8e7d', expected: { uuid: '6c1f4a2e-8d3b-4f5a-9e7c-2b1d0a9f8e7d' } },
  { description: 'vmgenid', key: 'vmgenid', input: '2f0d5c3e-7a1b-4c9d-8e6f-0a1b2c3d4e5f', expected: '2f0d5c3e-7a1b-4c9d-8e6f-0a1b2c3d4e5f' },
  { description: 'meta', key: 'meta', input: 'creation-qemu=8.1.5,ctime=1709821234', expected: { 'creation-qemu': '8.1.5', ctime: 1709821234 } },
  { description: 'snapshot parent', key: 'parent', input: 'before-upgrade', expected: 'before-upgrade' },
  { description: 'snaptime', key: 'snaptime', input: '1710000000', expected: 1710000000 },
  { description: 'vmstate volume', key: 'vmstate', input: 'local-lvm:vm-101-state-snap1', expected: 'local-lvm:vm-101-state-snap1' },
  { description: 'digest', key: 'digest', input: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', expected: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
  { description: 'startup', key: 'startup', input: 'order=2,up=30,down=60', expected: { order: 2, up: 30, down: 60 } },
  { description: 'startup with a bare order', key: 'startup', input: '3', expected: { order: 3 } },
  { description: 'args are free text', key: 'args', input: "-no-reboot -smbios 'type=0,vendor=FOO'", expected: "-no-reboot -smbios 'type=0,vendor=FOO'" },
  { description: 'hostpci with two functions', key: 'hostpci0', input: '0000:01:00.0;0000:01:00.1,pcie=1', expected: { host: '0000:01:00.0;0000:01:00.1', pcie: true } },
  { description: 'hostpci mapping', key: 'hostpci15', input: 'mapping=gpu-pool', expected: { mapping: 'gpu-pool' } },
  { description: 'ipconfig static', key: 'ipconfig0', input: 'ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto', expected: { ip: '10.0.0.5/24', gw: '10.0.0.1', ip6: 'auto' } },
  { description: 'efidisk', key: 'efidisk0', input: 'local-lvm:vm-101-disk-0,efitype=4m,pre-enrolled-keys=1,size=4M', expected: { file: 'local-lvm:vm-101-disk-0', efitype: '4m', 'pre-enrolled-keys': true, size: 4 * 1024 ** 2 } },
  { description: 'tpmstate', key: 'tpmstate0', input: 'local-lvm:vm-101-disk-2,size=4M,version=v2.0', expected: { file: 'local-lvm:vm-101-disk-2', size: 4 * 1024 ** 2, version: 'v2.0' } },
  { description: 'unused volume', key: 'unused255', input: 'nfs:101/vm-101-disk-1.qcow2', expected: { file: 'nfs:101/vm-101-disk-1.qcow2' } },
  { description: 'usb spice', key: 'usb13', input: 'spice', expected: { host: 'spice' } },
  { description: 'net', key: 'net31', input: 'virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1,tag=20', expected: { model: 'virtio', macaddr: 'BC:24:11:2A:3B:4C', bridge: 'vmbr0', firewall: true, tag: 20 } },
  { description: 'scsi disk', key: 'scsi30', input: 'local-lvm:vm-101-disk-1,cache=writeback,discard=on,iothread=1,size=32G,ssd=1', expected: { file: 'local-lvm:vm-101-disk-1', cache: 'writeback', discard: 'on', iothread: true, size: 32 * G, ssd: true } },
  { description: 'ide cdrom none', key: 'ide2', input: 'none,media=cdrom', expected: { file: 'none', media: 'cdrom' } },
  { description: 'ide with an iso', key: 'ide3', input: 'local:iso/debian.iso,media=cdrom,size=631M', expected: { file: 'local:iso/debian.iso', media: 'cdrom', size: 631 * 1024 ** 2 } },
  { description: 'sata with a host device', key: 'sata5', input: '/dev/disk/by-id/ata-X,backup=0', expected: { file: '/dev/disk/by-id/ata-X', backup: false } },
  { description: 'virtio with throttling', key: 'virtio15', input: 'local:vm-1,mbps_rd=100,mbps_rd_max=200,bps_rd_max_length=10', expected: { file: 'local:vm-1', mbps_rd: 100, mbps_rd_max: 200, bps_rd_max_length: 10 } },
  { description: 'legacy throttling alias', key: 'virtio0', input: 'local:vm-1,mbps_rd=1,mbps_rd_max=2,bps_rd_length=3', expected: { file: 'local:vm-1', mbps_rd: 1, mbps_rd_max: 2, bps_rd_max_length: 3 } },
  { description: 'cloud-init nameserver list', key: 'nameserver', input: '10.0.0.53 2001:db8::53', expected: '10.0.0.53 2001:db8::53' },
  { description: 'sshkeys url-encoded', key: 'sshkeys', input: 'ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5%20me%40host%0A', expected: 'ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5%20me%40host%0A' },
  { description: 'affinity', key: 'affinity', input: '0,5,8-11', expected: '0,5,8-11' },
  { description: 'hotplug features', key: 'hotplug', input: 'disk,network,usb', expected: 'disk,network,usb' },
];

for (const c of validValues) {
  test(`qemu ${c.key}: ${c.description}`, (t) => {
    const values = validateQemuConfig([{ key: c.key, value: c.input }]) as Record<string, unknown>;
    t.deepEqual(values[c.key], c.expected);
    const spec = qemuKeySpec(c.key)!;
    // Printing the typed value gives a value that parses to the same thing.
    t.deepEqual(spec.parse(spec.print(values[c.key], c.key), c.key), c.expected);
  });
}

const invalidValues: Array<{ description: string; key: string; input: string; message: RegExp }> = [
  { description: 'unknown key', key: 'colour', input: 'red', message: /unknown VM config key 'colour'/ },
  { description: 'index out of range', key: 'net32', input: 'virtio', message: /unknown VM config key 'net32'/ },
  { description: 'index with a leading zero', key: 'scsi01', input: 'local:x', message: /unknown VM config key 'scsi01'/ },
  { description: 'memory below 16 MiB', key: 'memory', input: '8', message: /must be at least 16/ },
  { description: 'memory not a number', key: 'memory', input: '2G', message: /must be an integer/ },
  { description: 'negative balloon', key: 'balloon', input: '-1', message: /must be at least 0/ },
  { description: 'zero cores', key: 'cores', input: '0', message: /must be at least 1/ },
  { description: 'cpulimit too high', key: 'cpulimit', input: '129', message: /must be at most 128/ },
  { description: 'boolean spelled wrong', key: 'onboot', input: 'maybe', message: /must be a boolean/ },
  { description: 'unknown bios', key: 'bios', input: 'coreboot', message: /must be one of: seabios, ovmf/ },
  { description: 'unknown machine type', key: 'machine', input: 'isapc', message: /is not a machine type/ },
  { description: 'intel viommu on i440fx', key: 'machine', input: 'pc,viommu=intel', message: /needs a q35 machine type/ },
  { description: 'bad boot device', key: 'boot', input: 'order=scsi0;floppy0', message: /invalid boot device 'floppy0'/ },
  { description: 'efidisk is not a boot device', key: 'boot', input: 'order=efidisk0', message: /invalid boot device 'efidisk0'/ },
  { description: 'bad MAC address', key: 'net0', input: 'virtio=ZZ:24:11:2A:3B:4C,bridge=vmbr0', message: /not a valid unicast MAC address/ },
  { description: 'multicast MAC address', key: 'net0', input: 'virtio=01:00:5E:00:00:01,bridge=vmbr0', message: /multicast/ },
  { description: 'bad bridge name', key: 'net0', input: 'virtio,bridge=vmbr0;rm', message: /not a valid bridge name/ },
  { description: 'bridge name longer than Linux allows', key: 'net0', input: 'virtio,bridge=vmbr0000000000000', message: /at most 15 characters/ },
  { description: 'VLAN tag out of range', key: 'net0', input: 'virtio,bridge=vmbr0,tag=4095', message: /tag=4095 must be at most 4094/ },
  { description: 'unknown NIC model', key: 'net0', input: 'rtl9999,bridge=vmbr0', message: /model=rtl9999 must be one of/ },
  { description: 'missing NIC model', key: 'net0', input: 'bridge=vmbr0', message: /'model' is required/ },
  { description: 'bad disk size', key: 'scsi0', input: 'local-lvm:vm-100-disk-0,size=32GB', message: /size=32GB is not a size/ },
  { description: 'bad volume id', key: 'scsi0', input: 'vm-100-disk-0,size=32G', message: /is neither a volume id/ },
  { description: 'bad storage id in volume', key: 'virtio0', input: '1local:vm-100-disk-0', message: /is neither a volume id/ },
  { description: 'field of another interface', key: 'sata0', input: 'local:x,iothread=1', message: /unknown key 'iothread'/ },
  { description: 'virtio cdrom', key: 'virtio1', input: 'local:iso/x.iso,media=cdrom', message: /virtio drives cannot be CD-ROMs/ },
  { description: 'cdrom with a format', key: 'ide2', input: 'local:iso/x.iso,media=cdrom,format=raw', message: /cannot have 'format'/ },
  { description: 'mbps with mbps_rd', key: 'scsi0', input: 'local:x,mbps=1,mbps_rd=2', message: /mbps cannot be combined/ },
  { description: 'burst length without burst', key: 'scsi0', input: 'local:x,iops_max_length=3', message: /iops_max_length requires iops_max/ },
  { description: 'unknown cache mode', key: 'scsi0', input: 'local:x,cache=always', message: /cache=always must be one of/ },
  { description: 'bad unused volume', key: 'unused0', input: '/var/lib/vz/images/x.raw', message: /is not a volume id/ },
  { description: 'hostpci without host or mapping', key: 'hostpci0', input: 'pcie=1', message: /either 'host' or 'mapping' must be set/ },
  { description: 'hostpci with bad id', key: 'hostpci0', input: 'xyz', message: /not a PCI id/ },
  { description: 'ipconfig gateway with dhcp', key: 'ipconfig0', input: 'ip=dhcp,gw=10.0.0.1', message: /gateway given together with DHCP/ },
  { description: 'ipconfig bad CIDR', key: 'ipconfig0', input: 'ip=10.0.0.5/33', message: /CIDR/ },
  { description: 'serial port not socket', key: 'serial0', input: 'tcp:1234', message: /must be 'socket' or a host device path/ },
  { description: 'cpu flag not allowed for a VM', key: 'cpu', input: 'host,flags=+vmx', message: /FLAG one of/ },
  { description: 'bad name', key: 'name', input: 'web_01', message: /not a valid DNS name/ },
  { description: 'bad tag', key: 'tags', input: 'ok;not ok!', message: /invalid tag 'ok!'/ },
  { description: 'bad snapshot parent', key: 'parent', input: '1st', message: /not a valid name/ },
  { description: 'bad vmgenid', key: 'vmgenid', input: '2', message: /must be a UUID/ },
  { description: 'delete outside pending', key: 'delete', input: 'net0', message: /only allowed in the pending section/ },
  { description: 'description longer than 8 KiB', key: 'description', input: 'x'.repeat(8193), message: /must be at most 8192 characters long/ },
];

for (const c of invalidValues) {
  test(`qemu rejects ${c.description}`, (t) => {
    const err = t.throws(() => validateQemuConfig([{ key: 'ostype', value: 'l26' }, { key: c.key, value: c.input }]), { instanceOf: InvalidConfigError });
    t.is(err.key, c.key);
    t.is(err.value, c.input);
    t.regex(err.message, c.message);
    t.true(err.message.includes(`'${c.key}'`), `message names the key: ${err.message}`);
    t.true(err.message.includes(c.input), `message names the value: ${err.message}`);
  });
}

test('validateQemuConfig returns typed values in entry order, also from a record', (t) => {
  const values = validateQemuConfig({ name: 'web01', memory: '1024', net0: 'virtio,bridge=vmbr0', onboot: '1' });
  t.deepEqual(Object.keys(values), ['name', 'memory', 'net0', 'onboot']);
  // Typed access: these lines are checked by the compiler.
  const memory: number | undefined = values.memory?.current;
  const model: string | undefined = values.net0?.model;
  const onboot: boolean | undefined = values.onboot;
  t.deepEqual([memory, model, onboot], [1024, 'virtio', true]);
});

test('validateQemuConfig rejects repeated keys', (t) => {
  const err = t.throws(
    () =>
      validateQemuConfig([
        { key: 'memory', value: '512' },
        { key: 'memory', value: '1024' },
      ]),
    { instanceOf: InvalidConfigError },
  );
  t.is(err.key, 'memory');
  t.regex(err.message, /duplicate config key 'memory'/);
});

test('pending sections: delete is parsed and checked', (t) => {
  const values = validateQemuConfig([{ key: 'delete', value: 'net1,!unused0' }], { pending: true });
  t.deepEqual(values.delete, [
    { key: 'net1', force: false },
    { key: 'unused0', force: true },
  ]);
  const err = t.throws(() => validateQemuConfig([{ key: 'delete', value: 'net1,bogus' }], { pending: true }), { instanceOf: InvalidConfigError });
  t.is(err.key, 'delete');
  t.regex(err.message, /unknown config key 'bogus'/);
});

test('the VM fixtures validate section by section', (t) => {
  for (const file of ['qemu-101.conf', 'qemu-102.conf']) {
    const config = parseGuestConfig(fixture(file), { type: 'qemu' });
    const result = validateGuestConfigFile(config);
    t.truthy(result.main);
    if (file === 'qemu-101.conf') {
      t.deepEqual(result.pending?.delete, [
        { key: 'net1', force: false },
        { key: 'unused0', force: true },
      ]);
      t.deepEqual([...result.snapshots.keys()], ['before-upgrade', 'fresh-install']);
      t.is(result.snapshots.get('before-upgrade')?.snaptime, 1710000000);
      t.is(result.main.scsi0?.size, 32 * G);
    } else {
      t.deepEqual(result.main.net0, { model: 'e1000', macaddr: '02:AB:CD:EF:01:23', bridge: 'vmbr0', link_down: true, rate: 12.5 });
      t.is(result.main.ide0?.size, 3907018584 * 1024);
      t.deepEqual(result.main.numa0, { cpus: '0-1', hostnodes: '0', memory: 4096, policy: 'bind' });
    }
  }
});

test('a bad value in a snapshot is reported with its section', (t) => {
  const config = parseGuestConfig('memory: 512\n\n[snap1]\nmemory: 4\n', { type: 'qemu' });
  const err = t.throws(() => validateGuestConfigFile(config), { instanceOf: InvalidConfigError });
  t.is(err.key, 'memory');
  t.regex(err.message, /^\[snapshot snap1\] invalid value for 'memory'/);
});

test('validateGuestConfig dispatches on the guest type', (t) => {
  t.deepEqual(validateGuestConfig('qemu', { memory: '512' }), { memory: { current: 512 } });
  t.deepEqual(validateGuestConfig('lxc', { memory: '512' }), { memory: 512 });
  t.throws(() => validateGuestConfig('lxc', { bios: 'ovmf' }), { instanceOf: InvalidConfigError, message: /unknown container config key 'bios'/ });
});

const drivePrints: Array<{ description: string; key: string; input: string; printed: string }> = [
  { description: 'fields are sorted after the volume', key: 'scsi0', input: 'local:vm-1,size=32G,cache=writeback', printed: 'local:vm-1,cache=writeback,size=32G' },
  { description: 'booleans print as 1/0', key: 'scsi1', input: 'local:vm-1,iothread=on,backup=no', printed: 'local:vm-1,backup=0,iothread=1' },
  { description: 'sizes print in the largest whole unit', key: 'virtio0', input: 'local:vm-1,size=1073741824', printed: 'local:vm-1,size=1G' },
  { description: 'volume= alias prints bare', key: 'ide2', input: 'volume=none,media=cdrom', printed: 'none,media=cdrom' },
];

for (const c of drivePrints) {
  test(`printQemuDrive: ${c.description}`, (t) => {
    const drive = parseQemuDrive(c.input, { key: c.key });
    t.is(printQemuDrive(drive, { key: c.key }), c.printed);
  });
}

test('parseQemuDrive adds interface and index; printQemuDrive builds a new disk', (t) => {
  const drive = parseQemuDrive('local-lvm:vm-100-disk-0,iothread=1,size=32G', { key: 'scsi3' });
  t.deepEqual(drive, { file: 'local-lvm:vm-100-disk-0', iothread: true, size: 32 * G, interface: 'scsi', index: 3 });
  t.is(printQemuDrive({ file: 'local-lvm:vm-100-disk-1', size: 8 * G, discard: 'on', ssd: true }, { key: 'scsi1' }), 'local-lvm:vm-100-disk-1,discard=on,size=8G,ssd=1');
  const err = t.throws(() => printQemuDrive({ file: 'local:x', iothread: true }, { key: 'ide0' }), { instanceOf: InvalidConfigError });
  t.is(err.key, 'ide0');
  t.throws(() => parseQemuDrive('local:x', { key: 'nvme0' }), { instanceOf: InvalidConfigError, message: /'nvme0' is not a drive key/ });
});

test('parseQemuNet / printQemuNet', (t) => {
  const net = parseQemuNet('virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1', { key: 'net0' });
  t.deepEqual(net, { model: 'virtio', macaddr: 'BC:24:11:2A:3B:4C', bridge: 'vmbr0', firewall: true });
  t.is(printQemuNet(net), 'virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1');
  const built: QemuNet = { tag: 20, bridge: 'vmbr1', model: 'e1000', link_down: false };
  t.is(printQemuNet(built), 'e1000,bridge=vmbr1,link_down=0,tag=20', 'model without MAC prints bare');
  const err = t.throws(() => printQemuNet({ model: 'virtio', bridge: 'bad bridge' }, { key: 'net2' }), { instanceOf: InvalidConfigError });
  t.is(err.key, 'net2');
  t.throws(() => printQemuNet({ model: 'virtio', colour: 'red' } as QemuNet), { instanceOf: InvalidConfigError, message: /unknown field 'colour'/ });
});

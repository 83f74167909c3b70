/**
 * Configs the driver refuses before anything runs (InvalidConfigError naming the key), the
 * volume helpers the facade calls (volumes, volumeRequests, replaceVolume), and the `args`
 * splitter.
 */
import test from 'ava';
import { InvalidConfigError } from '@corral/core';
import { splitArgs } from '../src/config/splitArgs.js';
import { QemuHypervisorDriver } from '../src/QemuHypervisorDriver.js';

const driver = new QemuHypervisorDriver({ resourceControl: { mode: 'none' } });

const bad: Array<{ description: string; entries: Record<string, string>; key: string; message?: RegExp }> = [
  { description: 'unknown key', entries: { frobnicate: '1' }, key: 'frobnicate', message: /unknown/ },
  { description: 'memory not a number', entries: { memory: 'lots' }, key: 'memory' },
  { description: 'memory below 16 MiB', entries: { memory: '8' }, key: 'memory' },
  { description: 'balloon above memory', entries: { memory: '512', balloon: '1024' }, key: 'balloon', message: /more than 'memory'/ },
  { description: 'vcpus above sockets × cores', entries: { sockets: '1', cores: '2', vcpus: '3' }, key: 'vcpus' },
  { description: 'unknown cpu model', entries: { cpu: 'pentium9000' }, key: 'cpu' },
  { description: 'bad cpu flag', entries: { cpu: 'kvm64,flags=aes' }, key: 'cpu' },
  { description: 'unknown machine', entries: { machine: 'isapc' }, key: 'machine' },
  { description: 'unknown bios', entries: { bios: 'coreboot' }, key: 'bios' },
  { description: 'bad ostype', entries: { ostype: 'beos' }, key: 'ostype' },
  { description: 'boot device that is not configured', entries: { boot: 'order=scsi0', virtio0: 'local:a.raw' }, key: 'boot', message: /not configured/ },
  { description: 'boot device twice', entries: { boot: 'order=virtio0;virtio0', virtio0: 'local:a.raw' }, key: 'boot' },
  { description: 'virtio CD-ROM', entries: { virtio0: 'local:iso/x.iso,media=cdrom' }, key: 'virtio0' },
  { description: "a disk with 'none'", entries: { scsi0: 'none' }, key: 'scsi0' },
  { description: 'same volume twice', entries: { scsi0: 'local:a.qcow2', virtio0: 'local:a.qcow2' }, key: 'virtio0', message: /already attached/ },
  { description: 'drive index out of range', entries: { ide4: 'local:a.raw' }, key: 'ide4' },
  { description: 'unknown drive option', entries: { virtio0: 'local:a.raw,frob=1' }, key: 'virtio0' },
  { description: 'bad cache mode', entries: { virtio0: 'local:a.raw,cache=sometimes' }, key: 'virtio0' },
  { description: 'mbps with mbps_rd', entries: { virtio0: 'local:a.raw,mbps=1,mbps_rd=1' }, key: 'virtio0' },
  { description: 'iothread on SCSI without virtio-scsi-single', entries: { scsi0: 'local:a.raw,iothread=1' }, key: 'scsi0' },
  { description: 'path with ..', entries: { virtio0: '/var/../etc/shadow' }, key: 'virtio0' },
  { description: 'bad NIC model', entries: { net0: 'ne3000=BC:24:11:00:00:01' }, key: 'net0' },
  { description: 'multicast MAC', entries: { net0: 'virtio=01:24:11:00:00:01' }, key: 'net0' },
  { description: 'duplicate MAC', entries: { net0: 'virtio=BC:24:11:00:00:01', net1: 'virtio=BC:24:11:00:00:01' }, key: 'net1', message: /already used/ },
  { description: 'VLAN tag without bridge', entries: { net0: 'virtio,tag=10' }, key: 'net0' },
  { description: 'bad bridge name', entries: { net0: 'virtio,bridge=vmbr0;rm' }, key: 'net0' },
  { description: 'hostpci pcie=1 on pc', entries: { hostpci0: '01:00.0,pcie=1' }, key: 'hostpci0', message: /q35/ },
  { description: 'hostpci bad address', entries: { hostpci0: 'zz:00.0' }, key: 'hostpci0' },
  { description: 'hostpci mdev (not supported)', entries: { hostpci0: '01:00.0,mdev=nvidia-1' }, key: 'hostpci0' },
  { description: 'serial neither socket nor device', entries: { serial0: 'tcp:1234' }, key: 'serial0' },
  { description: 'vga serial0 without serial0', entries: { vga: 'serial0' }, key: 'vga' },
  { description: 'args with an unterminated quote', entries: { args: '-append "console=ttyS0' }, key: 'args' },
  { description: 'args taking over the pid file', entries: { args: '-pidfile /tmp/x' }, key: 'args', message: /set by the driver/ },
  { description: 'args adding a monitor', entries: { args: '-qmp tcp:0:4444' }, key: 'args' },
  { description: "NUMA nodes whose memory does not add up to 'memory'", entries: { numa: '1', memory: '1024', numa0: 'cpus=0,memory=512' }, key: 'numa0', message: /adds up to 512 MiB/ },
  { description: "hugepages without 'numa: 1'", entries: { hugepages: '2' }, key: 'hugepages', message: /needs 'numa: 1'/ },
  { description: 'machine enable-s3 not 0 or 1', entries: { machine: 'pc,enable-s3=yes' }, key: 'machine', message: /enable-s3/ },
  { description: 'USB passthrough (not supported)', entries: { usb0: 'host=1234:5678' }, key: 'usb0', message: /not supported/ },
  { description: 'cloud-init (not supported)', entries: { ciuser: 'root' }, key: 'ciuser', message: /cloud-init/ },
  { description: 'TPM (not supported)', entries: { tpmstate0: 'local:vm-100-disk-9.raw' }, key: 'tpmstate0' },
  { description: 'bad hotplug feature', entries: { hotplug: 'disk,teleport' }, key: 'hotplug' },
  { description: 'cpulimit above 128', entries: { cpulimit: '200' }, key: 'cpulimit' },
  { description: 'cpuunits 0', entries: { cpuunits: '0' }, key: 'cpuunits' },
  { description: 'bad agent type', entries: { agent: '1,type=usb' }, key: 'agent' },
  { description: 'bad watchdog action', entries: { watchdog: 'model=i6300esb,action=explode' }, key: 'watchdog' },
  { description: 'bad rng source', entries: { rng0: 'source=/etc/passwd' }, key: 'rng0' },
  { description: 'bad vmgenid', entries: { vmgenid: 'yes' }, key: 'vmgenid' },
  { description: 'arch aarch64', entries: { arch: 'aarch64' }, key: 'arch' },
];

for (const row of bad) {
  test(`rejects: ${row.description}`, (t) => {
    const err = t.throws(() => driver.validate(row.entries), { instanceOf: InvalidConfigError });
    t.is(err.key, row.key, err.message);
    if (row.message) t.regex(err.message, row.message);
  });
}

test('accepts a full Proxmox-style config', (t) => {
  t.notThrows(() =>
    driver.validate({
      name: 'web1',
      description: 'a web server',
      tags: 'prod;web',
      onboot: '1',
      startup: 'order=2,up=30',
      memory: '2048',
      balloon: '1024',
      sockets: '1',
      cores: '2',
      cpu: 'x86-64-v2-AES',
      numa: '0',
      cpulimit: '1.5',
      cpuunits: '2048',
      machine: 'q35,enable-s3=1',
      bios: 'seabios',
      ostype: 'l26',
      boot: 'order=scsi0;ide2;net0',
      agent: '1',
      vga: 'std',
      serial0: 'socket',
      scsihw: 'virtio-scsi-single',
      scsi0: 'local:100/vm-100-disk-0.qcow2,iothread=1,discard=on,size=32G',
      ide2: 'none,media=cdrom',
      net0: 'virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1',
      smbios1: 'uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c',
      vmgenid: '8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c',
      hotplug: 'network,disk',
      unused0: 'local:100/vm-100-disk-1.qcow2',
      args: '-kernel /k',
    }),
  );
});

test('volumeRequests: storeid:SIZE asks for GiB on that storage; cdroms and existing volumes do not', (t) => {
  const requests = driver.volumeRequests({
    scsi0: 'local:32,format=qcow2,serial=X',
    virtio1: 'fast:0.5',
    ide2: 'local:iso/x.iso,media=cdrom',
    sata0: 'local:100/vm-100-disk-0.qcow2',
    efidisk0: 'local:1,efitype=4m',
  });
  t.deepEqual(requests, [
    { key: 'scsi0', storage: 'local', sizeBytes: 32 * 1024 ** 3, content: 'images', format: 'qcow2' },
    { key: 'virtio1', storage: 'fast', sizeBytes: 512 * 1024 ** 2, content: 'images', format: undefined },
    { key: 'efidisk0', storage: 'local', sizeBytes: 540672, content: 'images', format: 'raw' },
  ]);
});

test('replaceVolume keeps the other properties and their order, sets size', (t) => {
  t.is(driver.replaceVolume('scsi0', 'local:32,serial=X,cache=writeback', 'local:100/vm-100-disk-0.qcow2', 32 * 1024 ** 3), 'local:100/vm-100-disk-0.qcow2,serial=X,cache=writeback,size=32G');
  t.is(driver.replaceVolume('virtio0', 'file=local:100/base-100-disk-0.qcow2,size=8G', 'local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2'), 'local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2,size=8G');
  t.is(driver.replaceVolume('vmstate', 'local:100/vm-100-state-a.qcow2', 'local:101/vm-101-disk-3.qcow2'), 'local:101/vm-101-disk-3.qcow2');
});

test('volumes: disks, cdroms (marked), efidisk, unused, vmstate; not paths, none or new-volume requests', (t) => {
  const vols = driver.volumes({
    scsi0: 'local:100/vm-100-disk-0.qcow2,size=32G',
    ide2: 'local:iso/debian.iso,media=cdrom',
    ide3: 'none,media=cdrom',
    virtio0: '/dev/sdb',
    virtio1: 'local:4',
    efidisk0: 'local:100/vm-100-disk-1.raw,efitype=4m',
    unused0: 'local:100/vm-100-disk-2.qcow2',
    vmstate: 'local:100/vm-100-disk-3.qcow2',
    memory: '512',
  });
  t.deepEqual(vols, [
    { key: 'scsi0', volid: 'local:100/vm-100-disk-0.qcow2', content: 'images', isCdrom: false },
    { key: 'ide2', volid: 'local:iso/debian.iso', content: 'iso', isCdrom: true },
    { key: 'efidisk0', volid: 'local:100/vm-100-disk-1.raw', content: 'images', isCdrom: false },
    { key: 'unused0', volid: 'local:100/vm-100-disk-2.qcow2', content: 'images', isCdrom: false },
    { key: 'vmstate', volid: 'local:100/vm-100-disk-3.qcow2', content: 'images', isCdrom: false },
  ]);
});

const splits: Array<[string, string[]]> = [
  ['', []],
  ['  -a   b  ', ['-a', 'b']],
  [`-append "console=ttyS0 quiet"`, ['-append', 'console=ttyS0 quiet']],
  [`'single $HOME *' "dq \\"x\\" \\\\ \\n"`, ['single $HOME *', 'dq "x" \\ \\n']],
  [`a\\ b c''d "" ''`, ['a b', 'cd', '', '']],
  ['$(rm -rf /) `x` ;|&', ['$(rm', '-rf', '/)', '`x`', ';|&']],
];
for (const [input, expected] of splits) {
  test(`splitArgs ${JSON.stringify(input)}`, (t) => {
    t.deepEqual(splitArgs(input), expected);
  });
}

/**
 * The grammar of the parser fuzz test: realistic pieces of Proxmox text (config values as
 * Proxmox writes them, whole `.conf` and `storage.cfg` files, volume ids) and mutations that
 * break them with the characters parsers get wrong (control characters, U+2028/U+2029, NUL,
 * separators, lone surrogates, very long runs).
 */
import type { GuestConfig, GuestConfigSection } from '../../src/formats/guestConfig.js';
import type { ConfigSection } from '../../src/formats/sectionConfig.js';
import type { SeededRandom } from '../../src/testing/SeededRandom.js';

/** Characters and short strings that parsers tend to mishandle. */
export const NASTY = [
  '\0', '\x01', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f', '\x85', '\x9f', '\r', '\n', '\r\n', '\t', ' ', '  ',
  '\u2028', '\u2029', '\u00a0', '\ufeff', '\u200b', '\ud800', '\udc00', '\u{1f600}', 'é', 'ß',
  '=', ',', ':', ';', '[', ']', '#', '%', '%ZZ', '%00', '%0A', '%E2%80%A8', '%FF', '\\', '"', "'", '!', '/', '..', '/../', '-', '+', '.', '_', '@',
  '__proto__', 'constructor', 'toString', 'lxc.', '[PENDING]', '[snap1]', 'delete:', 'description:', 'a=b', '=x', 'x=',
];

/** Values of VM config keys as Proxmox writes them. */
export const QEMU_VALUES: ReadonlyArray<readonly [string, string]> = [
  ['name', 'web01'],
  ['name', 'db-1.example.com'],
  ['memory', '2048'],
  ['memory', 'current=4096'],
  ['balloon', '1024'],
  ['cores', '4'],
  ['sockets', '1'],
  ['vcpus', '2'],
  ['cpu', 'host'],
  ['cpu', 'x86-64-v2-AES,flags=+aes;-pcid'],
  ['cpu', 'kvm64,hidden=1,phys-bits=host'],
  ['cpulimit', '1.5'],
  ['cpuunits', '1024'],
  ['net0', 'virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1'],
  ['net1', 'e1000,bridge=vmbr1,tag=20,mtu=1500,trunks=10;20-30'],
  ['scsi0', 'local-lvm:vm-100-disk-0,iothread=1,size=32G'],
  ['scsi1', 'local:100/vm-100-disk-1.qcow2,cache=writeback,discard=on,serial=ABC%20D,size=8G'],
  ['virtio0', 'local:100/vm-100-disk-2.raw,iops_rd=100,mbps_wr=50.5'],
  ['ide2', 'local:iso/debian-12.iso,media=cdrom,size=628M'],
  ['ide2', 'none,media=cdrom'],
  ['sata0', '/dev/disk/by-id/ata-X,model=Disk%201'],
  ['efidisk0', 'local:100/vm-100-disk-3.raw,efitype=4m,pre-enrolled-keys=1,size=528K'],
  ['unused0', 'local:100/vm-100-disk-4.qcow2'],
  ['boot', 'order=scsi0;ide2;net0'],
  ['boot', 'cdn'],
  ['bootdisk', 'scsi0'],
  ['ostype', 'l26'],
  ['scsihw', 'virtio-scsi-single'],
  ['machine', 'pc-q35-8.1+pve0,viommu=intel'],
  ['smbios1', 'uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,manufacturer=QUNNRSwgSW5jLg==,base64=1'],
  ['smbios1', 'uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,serial=ABC123'],
  ['args', '-no-reboot -smbios type=0,vendor=FOO'],
  ['runningcpu', 'kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep'],
  ['runningmachine', 'pc-i440fx-8.1+pve0'],
  ['vmgenid', 'c1d2e3f4-1111-2222-3333-444455556666'],
  ['meta', 'creation-qemu=8.1.2,ctime=1700000000'],
  ['tags', 'prod;web'],
  ['hotplug', 'disk,network,usb'],
  ['agent', '1,fstrim_cloned_disks=1'],
  ['vga', 'std,memory=32'],
  ['startup', 'order=1,up=30'],
  ['serial0', 'socket'],
  ['numa0', 'cpus=0-3,memory=1024'],
  ['hostpci0', '0000:01:00.0,pcie=1'],
  ['ipconfig0', 'ip=10.0.0.5/24,gw=10.0.0.1'],
  ['nameserver', '1.1.1.1 8.8.8.8'],
  ['sshkeys', 'ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAI%20user%40host'],
  ['lock', 'backup'],
  ['protection', '1'],
  ['onboot', '1'],
  ['digest', '0123456789abcdef0123456789abcdef01234567'],
  ['parent', 'snap1'],
  ['snaptime', '1700000000'],
  ['vmstate', 'local:100/vm-100-state-snap1.raw'],
  ['affinity', '0,5,8-11'],
  ['startdate', '2024-01-31T12:00:00'],
];

/** Values of container config keys as Proxmox writes them (raw `lxc.*` keys included). */
export const LXC_VALUES: ReadonlyArray<readonly [string, string]> = [
  ['hostname', 'ct1'],
  ['memory', '512'],
  ['swap', '512'],
  ['cores', '2'],
  ['cpulimit', '1'],
  ['rootfs', 'local-lvm:vm-200-disk-0,size=8G'],
  ['mp0', 'local:200/vm-200-disk-1.raw,mp=/srv,backup=1,size=4G'],
  ['mp1', '/mnt/shared,mp=/shared,ro=1'],
  ['net0', 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:6F:70,ip=dhcp,type=veth'],
  ['net1', 'name=eth1,bridge=vmbr1,ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto,tag=5'],
  ['features', 'nesting=1,keyctl=1'],
  ['features', 'mount=nfs;cifs'],
  ['unprivileged', '1'],
  ['ostype', 'debian'],
  ['arch', 'amd64'],
  ['nameserver', '1.1.1.1 fe80::1%eth0'],
  ['searchdomain', 'example.com'],
  ['dev0', '/dev/ttyUSB0,mode=0660,uid=0'],
  ['timezone', 'Europe/Vienna'],
  ['tags', 'db'],
  ['startup', '2'],
  ['parent', 'before-upgrade'],
  ['snaptime', '1700000000'],
  ['lxc.idmap', 'u 0 100000 65536'],
  ['lxc.apparmor.profile', 'unconfined'],
  ['lxc.mount.entry', '/srv srv none bind,create=dir 0 0'],
  ['lxc.cgroup2.devices.allow', 'c 10:200 rwm'],
];

/** Proxmox section config blocks (`storage.cfg`). */
export const STORAGE_BLOCKS = [
  'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\tprune-backups keep-all=1\n',
  'lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n',
  'rbd: ceph-vm\n\tdisable\n\tmonhost 10.0.0.1 10.0.0.2\n\tpool vm\n\tkrbd 0\n',
  'nfs: nas\n\texport /export\n\tpath /mnt/pve/nas\n\tserver 10.0.0.5\n\toptions vers=4.2\n\tcontent backup\n',
  'zfspool: tank\n\tpool tank/vm\n\tsparse 1\n\tnodes pve1,pve2\n',
  'cifs: win\n\tpath /mnt/pve/win\n\tserver 10.0.0.9\n\tshare data\n\tusername admin\n',
  '# a comment\n',
];

/** Volume ids of every shape the storage plugins know. */
export const VOLUME_IDS = [
  'local:iso/debian-12.iso',
  'local:vztmpl/debian-12-standard_12.2-1_amd64.tar.zst',
  'local:backup/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst',
  'local:snippets/hook.pl',
  'local:100/vm-100-disk-0.qcow2',
  'local:100/base-100-disk-0.raw/101/vm-101-disk-0.qcow2',
  'local-lvm:vm-100-disk-0',
  'ceph-vm:base-100-disk-0/vm-101-disk-0',
  'tank:subvol-200-disk-0',
  'nas:iso/My Install Disk.iso',
];

/** Property-string texts as written for the typed formats (by format name). */
export const PROPERTY_SAMPLES: Readonly<Record<string, readonly string[]>> = {
  'qemu net': ['virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1', 'e1000,bridge=vmbr1,tag=20,mtu=1500', 'vmxnet3=BC:24:11:00:00:01,link_down=1,rate=12.5,queues=4'],
  'qemu scsi drive': ['local-lvm:vm-100-disk-0,iothread=1,size=32G', 'local:100/vm-100-disk-1.qcow2,cache=writeback,discard=on,serial=ABC%20D,size=8G', 'file=local:iso/x.iso,media=cdrom', 'volume=local:a.raw,wwn=0x5000c500a1b2c3d4,product=QEMU HARDDISK'],
  'qemu ide drive': ['local:iso/debian-12.iso,media=cdrom,size=628M', 'none,media=cdrom', 'local:a.raw,model=Disk%20A%2B'],
  'qemu virtio drive': ['local:100/vm-100-disk-2.raw,iops_rd=100,mbps_wr=50.5,ro=1', 'local:a.raw,bps_rd_length=10,bps_rd_max_length=5'],
  'qemu efidisk': ['local:100/vm-100-disk-3.raw,efitype=4m,pre-enrolled-keys=1,size=528K'],
  cpu: ['host', 'x86-64-v2-AES,flags=+aes;-pcid', 'kvm64,hidden=1,phys-bits=host,hv-vendor-id=proxmox'],
  machine: ['q35', 'pc-q35-8.1+pve0,viommu=intel', 'pc-i440fx-7.2.pxe'],
  smbios1: ['uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,manufacturer=QUNNRSwgSW5jLg==,base64=1', 'serial=ABC123,sku=x'],
  hostpci: ['0000:01:00.0,pcie=1', 'mapping=gpu1,x-vga=1', '01:00;02:00.1,romfile=vbios.bin'],
  numa: ['cpus=0-3,memory=1024,policy=bind', 'cpus=0;2;4-6,hostnodes=0-1'],
  usb: ['host=1234:5678,usb3=1', 'spice', 'host=1-2.3'],
  ipconfig: ['ip=10.0.0.5/24,gw=10.0.0.1', 'ip=dhcp,ip6=auto', 'ip6=fd00::5/64,gw6=fd00::1'],
  agent: ['1,fstrim_cloned_disks=1', 'enabled=0,type=isa'],
  vga: ['std,memory=32', 'qxl2,clipboard=vnc'],
  boot: ['order=scsi0;ide2;net0', 'cdn'],
  memory: ['2048', 'current=4096'],
  startup: ['order=1,up=30', '2,down=60'],
  meta: ['creation-qemu=8.1.2,ctime=1700000000'],
  'lxc net': ['name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:6F:70,ip=dhcp,type=veth', 'name=eth1,ip=10.0.0.2/24,gw=10.0.0.1,ip6=auto,tag=5,trunks=5;6'],
  'mount point': ['local:200/vm-200-disk-1.raw,mp=/srv,backup=1,size=4G', '/mnt/shared,mp=/shared,ro=1,mountoptions=noatime;nodev'],
  rootfs: ['local-lvm:vm-200-disk-0,size=8G', 'local:8,acl=1,quota=1'],
  features: ['nesting=1,keyctl=1', 'mount=nfs;cifs,fuse=1'],
  device: ['/dev/ttyUSB0,mode=0660,uid=0', 'path=/dev/dri/card0,gid=44,deny-write=1'],
};

const SNAPSHOT_NAMES = ['snap1', 'before-upgrade', 'a', '1x', 'pending', 'PENDING', 'x y', 'snap\u2028', 'snap_2', 's'.repeat(60), 'a\0b', 'ok-name'];
const SPECIAL_NAMES = ['cloudinit', 'fleecing', 'bad name', '', 'x]'];
const JUNK_KEYS = ['a:', 'Name', 'name:', 'x y', '', 'description', 'delete', 'lxc.foo', 'lxc.', 'net0:', 'Memory', 'a\u2028', '#x', '[x]', 'z'.repeat(200), 'lxc.idmap', '__proto__', 'constructor'];

/** A long run: one character repeated; short runs (20-40) catch exponential patterns, long ones polynomial ones. */
function run(r: SeededRandom, text: string): string {
  const c = text.length > 0 && r.chance(0.5) ? text[r.int(text.length)]! : r.pick(NASTY);
  const n = r.chance(0.75) ? r.between(20, 40) : r.between(500, 20000);
  return c.repeat(Math.max(1, Math.floor(n / Math.max(1, c.length))));
}

/** Applies one random mutation to `text`. */
export function mutateOnce(r: SeededRandom, text: string, pool: readonly string[] = []): string {
  const at = r.int(text.length + 1);
  switch (r.int(9)) {
    case 0:
      return text.slice(0, at) + r.pick(NASTY) + text.slice(at);
    case 1:
      return text.slice(0, at) + r.pick(NASTY) + text.slice(at + 1);
    case 2:
      return text.slice(0, at) + text.slice(at + r.between(1, 8));
    case 3: {
      const piece = text.slice(at, at + r.between(1, 12));
      return text.slice(0, at) + piece.repeat(r.between(2, 6)) + text.slice(at);
    }
    case 4:
      return text.slice(0, at) + run(r, text) + (r.chance(0.5) ? r.pick(NASTY) : '') + text.slice(at);
    case 5:
      return pool.length > 0 ? text.slice(0, at) + r.pick(pool) + text.slice(at) : text + r.pick(NASTY);
    case 6: {
      const piece = text.slice(at, at + r.between(2, 6)) || 'a,';
      return text.slice(0, at) + piece.repeat(r.between(10, r.chance(0.8) ? 40 : 3000)) + r.pick(NASTY) + text.slice(at);
    }
    case 7:
      return text.slice(0, at);
    default:
      return r.pick(NASTY) + text + r.pick(NASTY);
  }
}

/** `text` with 0 to `max` mutations (none about a quarter of the time, so valid inputs stay frequent). */
export function mutate(r: SeededRandom, text: string, max = 3, pool: readonly string[] = []): string {
  let out = text;
  const n = r.chance(0.25) ? 0 : r.between(1, max);
  for (let i = 0; i < n; i++) out = mutateOnce(r, out, pool);
  return out;
}

/** A property-string text for format `name` (one of {@link PROPERTY_SAMPLES}). */
export function propertyText(r: SeededRandom, name: string): string {
  const samples = PROPERTY_SAMPLES[name]!;
  let text = r.pick(samples);
  if (r.chance(0.2)) text += `,${r.pick(samples).split(',').slice(1).join(',')}`;
  return mutate(r, text, 3, samples);
}

function sampleLines(r: SeededRandom, values: ReadonlyArray<readonly [string, string]>, max: number): string[] {
  const lines: string[] = [];
  const n = r.between(0, max);
  for (let i = 0; i < n; i++) {
    const [key, value] = r.pick(values);
    lines.push(r.chance(0.15) ? `${key}: ${mutate(r, value, 2, NASTY)}` : `${key}: ${value}`);
  }
  return lines;
}

/** Descriptions as `#` lines, and now and then as the old `description:` key (escaped the same way). */
function descriptionLines(r: SeededRandom): string[] {
  const n = r.chance(0.6) ? 0 : r.between(1, 3);
  return Array.from({ length: n }, () => {
    const text = r.pick(['Web server', 'owner%3A ops', 'line %E2%80%A8 sep', 'tab%09here', ' indented', '', 'nul%00x', 'cr%0D', '%0A', '%20', 'a%0A%0Ab', '%09%0A', '100%25']);
    return r.chance(0.2) ? `description: ${text || '%0A'}` : `#${text}`;
  });
}

/**
 * Guest configs checked on every run before the seeded cases: inputs that once did not read
 * back the same after a write (each with what went wrong).
 */
export const GUEST_CONFIG_CORPUS: ReadonlyArray<{ readonly type: 'qemu' | 'lxc'; readonly text: string }> = [
  // A blank description read as '' but was written as none.
  { type: 'qemu', text: 'description: %0A\n' },
  { type: 'lxc', text: 'description: %0A\nhostname: ct1\nmemory: 512\n' },
  // The same in a container's pending section and in a snapshot.
  { type: 'lxc', text: 'hostname: ct1\n\n[pve:pending]\ndescription: %20\nmemory: 1024\n' },
  { type: 'lxc', text: 'hostname: ct1\n\n[before-upgrade]\n#\ndescription: %09%0A\nhostname: ct1\nsnaptime: 1700000000\n' },
  // A VM's emptied pending description stays the lone '#'.
  { type: 'qemu', text: 'memory: 512\n\n[PENDING]\ndescription: %0A\n' },
];

/** A guest `.conf` text: main section, maybe a pending, special and snapshot sections, then mutated. */
export function guestConfigText(r: SeededRandom, type: 'qemu' | 'lxc'): string {
  const values = type === 'qemu' ? QEMU_VALUES : LXC_VALUES;
  const lines = [...descriptionLines(r), ...sampleLines(r, values, 10)];
  if (type === 'lxc' && r.chance(0.3)) lines.push(`lxc.idmap = g 0 100000 65536`);
  if (r.chance(0.3)) {
    lines.push('', type === 'qemu' ? '[PENDING]' : '[pve:pending]', ...descriptionLines(r), ...sampleLines(r, values, 3));
    if (r.chance(0.6)) lines.push(`delete: ${r.pick(['net1', 'net1,!ide2', 'memory;cores', '!', 'tags  onboot'])}`);
  }
  if (type === 'qemu' && r.chance(0.15)) lines.push('', `[special:${r.pick(SPECIAL_NAMES)}]`, 'ipconfig0: ip=dhcp');
  for (let s = r.chance(0.5) ? r.between(1, 3) : 0; s > 0; s--) {
    lines.push('', `[${r.pick(SNAPSHOT_NAMES)}]`, ...descriptionLines(r), ...sampleLines(r, values, 5), `snaptime: ${r.between(1, 2e9)}`);
  }
  const text = `${lines.join('\n')}\n`;
  return r.chance(0.5) ? mutate(r, text, 2, NASTY) : text;
}

/** A `storage.cfg` text from realistic blocks, then mutated. */
export function storageConfigText(r: SeededRandom): string {
  const blocks = Array.from({ length: r.between(1, 5) }, () => r.pick(STORAGE_BLOCKS));
  let text = blocks.join(r.chance(0.8) ? '\n' : '');
  if (r.chance(0.2)) text = text.replace(/\t/g, '    ');
  return r.chance(0.7) ? mutate(r, text, 3, NASTY) : text;
}

/** A volume id, maybe mutated. */
export function volumeIdText(r: SeededRandom): string {
  return mutate(r, r.pick(VOLUME_IDS), 3, NASTY);
}

function modelSection(r: SeededRandom, type: 'qemu' | 'lxc', kind: 'main' | 'pending' | 'snapshot'): GuestConfigSection {
  const values = type === 'qemu' ? QEMU_VALUES : LXC_VALUES;
  const entries = [];
  for (let n = r.between(0, 6); n > 0; n--) {
    const [key, value] = r.pick(values);
    entries.push({
      key: r.chance(0.1) ? r.pick(JUNK_KEYS) : key,
      value: r.chance(0.4) ? mutate(r, value, 2, NASTY) : value,
    });
  }
  if (kind === 'pending' && r.chance(0.5)) entries.push({ key: 'delete', value: r.pick(['net1', '!ide2,tags', 'a b', 'memory']) });
  const section: GuestConfigSection = { entries };
  if (r.chance(0.4)) section.description = mutate(r, r.pick(['Web server', 'two\nlines', 'trailing\n\n', '', '  indented']), 2, NASTY);
  return section;
}

/** A guest config model as code builds it, with nasty keys, values, descriptions and section names. */
export function guestConfigModel(r: SeededRandom, type: 'qemu' | 'lxc'): GuestConfig {
  const config: GuestConfig = { type, ...modelSection(r, type, 'main'), special: new Map(), snapshots: new Map() };
  if (r.chance(0.3)) config.pending = modelSection(r, type, 'pending');
  if (type === 'qemu' && r.chance(0.1)) config.special.set(r.pick(SPECIAL_NAMES), { entries: [{ key: 'ipconfig0', value: 'ip=dhcp' }] });
  for (let s = r.chance(0.4) ? r.between(1, 2) : 0; s > 0; s--) {
    const name = r.chance(0.7) ? r.pick(SNAPSHOT_NAMES) : mutate(r, 'snap1', 1, NASTY);
    config.snapshots.set(name, modelSection(r, type, 'snapshot'));
  }
  return config;
}

/** Storage sections as code builds them, with nasty types, ids, keys and values. */
export function storageModel(r: SeededRandom): ConfigSection[] {
  const types = ['dir', 'rbd', 'nfs', 'lvmthin', 'zfspool'];
  const sections: ConfigSection[] = [];
  for (let n = r.between(1, 4); n > 0; n--) {
    const options: Record<string, string> = {};
    for (let k = r.between(0, 4); k > 0; k--) {
      const key = r.chance(0.85) ? r.pick(['path', 'content', 'pool', 'monhost', 'disable', 'nodes', 'prune-backups']) : mutate(r, 'opt', 1, NASTY);
      options[key] = r.chance(0.6) ? r.pick(['/var/lib/vz', 'iso,backup', '10.0.0.1 10.0.0.2', '', 'keep-last=3']) : mutate(r, '/srv/data', 2, NASTY);
    }
    sections.push({
      type: r.chance(0.9) ? r.pick(types) : mutate(r, 'dir', 1, NASTY),
      id: r.chance(0.8) ? r.pick(['local', 'local-lvm', 'ceph.vm', 'nas1']) : mutate(r, 'store', 2, NASTY),
      options,
    });
  }
  return sections;
}

import test from 'ava';
import { readFileSync } from 'node:fs';
import { InvalidConfigError } from '../../src/errors.js';
import { parseGuestConfig } from '../../src/formats/guestConfig.js';
import { isPassthroughLxcKey, lxcKeySpec, validateLxcConfig } from '../../src/formats/schema/lxcConfig.js';
import { parseLxcMountPoint, printLxcMountPoint } from '../../src/formats/schema/lxcMountPoint.js';
import { parseLxcNet, printLxcNet } from '../../src/formats/schema/lxcNet.js';
import { validateGuestConfigFile } from '../../src/formats/schema/validateGuestConfig.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/formats/${name}`, import.meta.url), 'utf8');
const G = 1024 ** 3;

const validValues: Array<{ description: string; key: string; input: string; expected: unknown }> = [
  { description: 'hostname', key: 'hostname', input: 'mail01.example.org', expected: 'mail01.example.org' },
  { description: 'arch', key: 'arch', input: 'arm64', expected: 'arm64' },
  { description: 'ostype', key: 'ostype', input: 'alpine', expected: 'alpine' },
  { description: 'memory', key: 'memory', input: '1024', expected: 1024 },
  { description: 'swap 0', key: 'swap', input: '0', expected: 0 },
  { description: 'cores', key: 'cores', input: '4', expected: 4 },
  { description: 'cpulimit', key: 'cpulimit', input: '0.5', expected: 0.5 },
  { description: 'cpuunits', key: 'cpuunits', input: '100', expected: 100 },
  { description: 'unprivileged', key: 'unprivileged', input: '1', expected: true },
  { description: 'features', key: 'features', input: 'fuse=1,keyctl=1,mount=nfs;cifs,nesting=1', expected: { fuse: true, keyctl: true, mount: 'nfs;cifs', nesting: true } },
  { description: 'rootfs', key: 'rootfs', input: 'local-lvm:vm-200-disk-0,size=8G', expected: { volume: 'local-lvm:vm-200-disk-0', size: 8 * G } },
  { description: 'rootfs on a directory storage', key: 'rootfs', input: 'local:200/vm-200-disk-0.raw,mountoptions=noatime;nodev,size=4G', expected: { volume: 'local:200/vm-200-disk-0.raw', mountoptions: 'noatime;nodev', size: 4 * G } },
  { description: 'volume mount point', key: 'mp0', input: 'local-lvm:vm-200-disk-1,mp=/var/mail,backup=1,size=16G', expected: { volume: 'local-lvm:vm-200-disk-1', mp: '/var/mail', backup: true, size: 16 * G } },
  { description: 'bind mount point', key: 'mp255', input: '/mnt/pve/shared,mp=/shared,ro=1', expected: { volume: '/mnt/pve/shared', mp: '/shared', ro: true } },
  { description: 'allocation syntax storage:GiB', key: 'mp1', input: 'local-lvm:8,mp=/data', expected: { volume: 'local-lvm:8', mp: '/data' } },
  { description: 'net with static IPv4', key: 'net0', input: 'name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=BC:24:11:5E:6F:70,ip=10.0.0.25/24,tag=20,type=veth', expected: { name: 'eth0', bridge: 'vmbr0', firewall: true, gw: '10.0.0.1', hwaddr: 'BC:24:11:5E:6F:70', ip: '10.0.0.25/24', tag: 20, type: 'veth' } },
  { description: 'net with IPv6 SLAAC and mtu', key: 'net31', input: 'name=eth1,bridge=vmbr1,ip6=auto,mtu=9000', expected: { name: 'eth1', bridge: 'vmbr1', ip6: 'auto', mtu: 9000 } },
  { description: 'net with static IPv6', key: 'net2', input: 'name=eth2,ip6=2001:db8::25/64,gw6=2001:db8::1', expected: { name: 'eth2', ip6: '2001:db8::25/64', gw6: '2001:db8::1' } },
  { description: 'nameserver list', key: 'nameserver', input: '10.0.0.53 fe80::1%eth0', expected: '10.0.0.53 fe80::1%eth0' },
  { description: 'searchdomain', key: 'searchdomain', input: 'example.org', expected: 'example.org' },
  { description: 'console mode', key: 'cmode', input: 'shell', expected: 'shell' },
  { description: 'tty count', key: 'tty', input: '6', expected: 6 },
  { description: 'lock', key: 'lock', input: 'mounted', expected: 'mounted' },
  { description: 'startup', key: 'startup', input: 'order=1,up=10', expected: { order: 1, up: 10 } },
  { description: 'device passthrough', key: 'dev0', input: '/dev/ttyUSB0,mode=0660,gid=20', expected: { path: '/dev/ttyUSB0', mode: '0660', gid: 20 } },
  { description: 'unused volume', key: 'unused3', input: 'local-lvm:vm-200-disk-9', expected: { volume: 'local-lvm:vm-200-disk-9' } },
  { description: 'timezone', key: 'timezone', input: 'Europe/Vienna', expected: 'Europe/Vienna' },
  { description: 'entrypoint', key: 'entrypoint', input: '/sbin/init', expected: '/sbin/init' },
];

for (const c of validValues) {
  test(`lxc ${c.key}: ${c.description}`, (t) => {
    const values = validateLxcConfig([{ key: c.key, value: c.input }]) as Record<string, unknown>;
    t.deepEqual(values[c.key], c.expected);
    const spec = lxcKeySpec(c.key)!;
    t.deepEqual(spec.parse(spec.print(values[c.key], c.key), c.key), c.expected);
  });
}

const invalidValues: Array<{ description: string; key: string; input: string; message: RegExp }> = [
  { description: 'unknown key', key: 'bios', input: 'ovmf', message: /unknown container config key 'bios'/ },
  { description: 'memory below 16', key: 'memory', input: '15', message: /must be at least 16/ },
  { description: 'negative swap', key: 'swap', input: '-512', message: /must be at least 0/ },
  { description: 'too many ttys', key: 'tty', input: '7', message: /must be at most 6/ },
  { description: 'unknown arch', key: 'arch', input: 'sparc', message: /must be one of: amd64/ },
  { description: 'bad hostname', key: 'hostname', input: '-mail', message: /not a valid DNS name/ },
  { description: 'unknown feature', key: 'features', input: 'nesting=1,docker=1', message: /unknown key 'docker'/ },
  { description: 'rootfs without storage', key: 'rootfs', input: 'vm-200-disk-0,size=8G', message: /neither a volume id/ },
  { description: 'rootfs with a bad size', key: 'rootfs', input: 'local-lvm:vm-200-disk-0,size=8 G', message: /size=8 G is not a size/ },
  { description: 'rootfs with mp=', key: 'rootfs', input: 'local-lvm:vm-200-disk-0,mp=/', message: /unknown key 'mp'/ },
  { description: 'mount point without mp=', key: 'mp0', input: 'local-lvm:vm-200-disk-1,size=8G', message: /'mp' is required/ },
  { description: 'mount point path with ..', key: 'mp0', input: 'local-lvm:vm-200-disk-1,mp=/srv/../etc', message: /illegal path sequences/ },
  { description: 'relative mount point path', key: 'mp0', input: 'local-lvm:vm-200-disk-1,mp=srv', message: /must be an absolute path/ },
  { description: 'bad mount option', key: 'mp0', input: '/mnt/x,mp=/x,mountoptions=exec', message: /must be mount options/ },
  { description: 'net without name', key: 'net0', input: 'bridge=vmbr0,ip=dhcp', message: /'name' is required/ },
  { description: 'bad MAC address', key: 'net0', input: 'name=eth0,hwaddr=BC:24:11:5E:6F', message: /not a valid unicast MAC address/ },
  { description: 'bad bridge', key: 'net0', input: 'name=eth0,bridge=br/0', message: /not a valid bridge name/ },
  { description: 'bad IPv4 config', key: 'net0', input: 'name=eth0,ip=10.0.0.300/24', message: /ip=10.0.0.300\/24 must be 'dhcp', 'manual' or an IPv4 address/ },
  { description: 'IPv4 without prefix', key: 'net0', input: 'name=eth0,ip=10.0.0.25', message: /CIDR/ },
  { description: 'IPv6 gateway that is IPv4', key: 'net0', input: 'name=eth0,ip6=auto,gw6=10.0.0.1', message: /gw6=10.0.0.1 is not a valid IPv6 address/ },
  { description: 'mtu too small', key: 'net0', input: 'name=eth0,mtu=63', message: /mtu=63 must be at least 64/ },
  { description: 'type other than veth', key: 'net0', input: 'name=eth0,type=macvlan', message: /type=macvlan must be one of: veth/ },
  { description: 'device outside /dev', key: 'dev0', input: '/etc/shadow', message: /not a valid device path/ },
  { description: 'raw key Proxmox does not pass through', key: 'lxc.foo.bar', input: '1', message: /unknown or unsupported raw LXC key 'lxc.foo.bar'/ },
  { description: 'lxc.rootfs.path', key: 'lxc.rootfs.path', input: '/var/lib/lxc/200/rootfs', message: /generated from rootfs/ },
  { description: 'nameserver that is a name', key: 'nameserver', input: 'dns.example.org', message: /not an IP address/ },
  { description: 'delete outside pending', key: 'delete', input: 'mp0', message: /only allowed in the pending section/ },
];

for (const c of invalidValues) {
  test(`lxc rejects ${c.description}`, (t) => {
    const err = t.throws(() => validateLxcConfig([{ key: 'ostype', value: 'debian' }, { key: c.key, value: c.input }]), { instanceOf: InvalidConfigError });
    t.is(err.key, c.key);
    t.is(err.value, c.input);
    t.regex(err.message, c.message);
    t.true(err.message.includes(`${c.key}`), `message names the key: ${err.message}`);
    t.true(err.message.includes(c.input), `message names the value: ${err.message}`);
  });
}

test('raw lxc.* keys pass through in order, repeats allowed', (t) => {
  const values = validateLxcConfig([
    { key: 'memory', value: '512' },
    { key: 'lxc.cgroup2.devices.allow', value: 'c 10:200 rwm' },
    { key: 'lxc.mount.entry', value: '/a a none bind' },
    { key: 'lxc.mount.entry', value: '/b b none bind' },
    { key: 'lxc.prlimit.nofile', value: '65536' },
    { key: 'lxc.idmap', value: 'u 0 100000 65536' },
  ]);
  t.is(values.memory, 512);
  t.deepEqual(values.lxc?.map((e) => e.key), ['lxc.cgroup2.devices.allow', 'lxc.mount.entry', 'lxc.mount.entry', 'lxc.prlimit.nofile', 'lxc.idmap']);
  t.true(isPassthroughLxcKey('lxc.net.0.type'));
  t.true(isPassthroughLxcKey('lxc.aa_profile'), 'deprecated names are still accepted');
  t.false(isPassthroughLxcKey('lxc.rootfs.path'));
});

test('the container fixture validates section by section', (t) => {
  const config = parseGuestConfig(fixture('lxc-200.conf'), { type: 'lxc' });
  const result = validateGuestConfigFile(config);
  t.deepEqual(result.main.features, { keyctl: true, nesting: true });
  t.is(result.main.mp1?.ro, true);
  t.is(result.main.lxc?.length, 3);
  t.deepEqual(result.pending, { cores: 4, delete: [{ key: 'mp1', force: false }] });
  t.deepEqual([...result.snapshots.keys()], ['pre-update', 'created']);
  t.is(result.snapshots.get('created')?.net0?.ip, 'dhcp');
});

test('parseLxcMountPoint classifies volumes and sets mp for rootfs', (t) => {
  t.deepEqual(parseLxcMountPoint('local-lvm:vm-200-disk-0,size=8G', { key: 'rootfs' }), {
    volume: 'local-lvm:vm-200-disk-0',
    size: 8 * G,
    mp: '/',
    type: 'volume',
  });
  t.deepEqual(parseLxcMountPoint('/srv/data,mp=/data', { key: 'mp3' }), { volume: '/srv/data', mp: '/data', type: 'bind' });
  t.deepEqual(parseLxcMountPoint('/dev/sdb1,mp=/mnt/disk', { key: 'mp4' }), { volume: '/dev/sdb1', mp: '/mnt/disk', type: 'device' });
  t.throws(() => parseLxcMountPoint('local:x', { key: 'mp256' }), { instanceOf: InvalidConfigError, message: /not a container mount point key/ });
});

test('printLxcMountPoint writes volume, then mp, then the rest sorted', (t) => {
  const mp = parseLxcMountPoint('local-lvm:vm-200-disk-1,size=16G,backup=1,mp=/var/mail', { key: 'mp0' });
  t.is(printLxcMountPoint(mp, { key: 'mp0' }), 'local-lvm:vm-200-disk-1,mp=/var/mail,backup=1,size=16G');
  const rootfs = parseLxcMountPoint('local-lvm:vm-200-disk-0,size=8G', { key: 'rootfs' });
  t.is(printLxcMountPoint(rootfs, { key: 'rootfs' }), 'local-lvm:vm-200-disk-0,size=8G', 'mp is not written for rootfs');
  t.is(printLxcMountPoint({ volume: 'local-zfs:subvol-201-disk-0', size: 2 * G, acl: true }, { key: 'rootfs' }), 'local-zfs:subvol-201-disk-0,acl=1,size=2G');
});

test('parseLxcNet / printLxcNet write name first, then sorted fields', (t) => {
  const net = parseLxcNet('type=veth,ip=dhcp,bridge=vmbr0,name=eth0,hwaddr=BC:24:11:5E:6F:70', { key: 'net0' });
  t.is(printLxcNet(net), 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:6F:70,ip=dhcp,type=veth');
  const err = t.throws(() => printLxcNet({ name: 'eth0', tag: 0 }, { key: 'net5' }), { instanceOf: InvalidConfigError });
  t.is(err.key, 'net5');
  t.regex(err.message, /tag=0 must be at least 1/);
});

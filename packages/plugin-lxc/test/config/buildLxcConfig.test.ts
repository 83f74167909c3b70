import test from 'ava';
import { InvalidConfigError } from '@corral/core';
import { buildLxcConfig, derivedMac, ipv4Broadcast, vethName } from '../../src/config/buildLxcConfig.js';
import { limitSettings, orderMemoryWrites, rawCgroupSettings } from '../../src/config/cgroupLimits.js';
import { parseContainerConfig } from '../../src/config/parseContainerConfig.js';

const v1Host = { version: 1 as const, swapAccounting: true, cpus: '0-3' };
const v2Host = { version: 2 as const, swapAccounting: false, cpus: '0-3' };

function lines(
  entries: Record<string, string>,
  options: { version?: 1 | 2; mounts?: Array<{ key: string; source: string; target: string; readOnly: boolean }>; startHostHook?: string[] } = {},
): string[] {
  const config = parseContainerConfig(entries);
  const host = options.version === 2 ? v2Host : v1Host;
  const text = buildLxcConfig({
    vmid: 123,
    config,
    hostname: config.values.hostname ?? 'CT123',
    rootfsPath: '/srv/images/123/subvol-123-disk-0.subvol',
    mounts: options.mounts ?? [],
    cgroupVersion: host.version,
    limits: limitSettings(config, host),
    includes: ['/usr/share/lxc/config/common.conf'],
    extra: ['lxc.signal.halt = SIGUSR1'],
    logFile: '/run/corral/lxc/123/lxc.log',
    consoleLogFile: '/run/corral/lxc/123/console.log',
    startHostHook: options.startHostHook,
  });
  return text.trimEnd().split('\n');
}

test('a privileged container on cgroup v1: includes, rootfs, limits with Proxmox defaults, raw keys last', (t) => {
  const l = lines({ hostname: 'web1', rootfs: 'local:123/subvol-123-disk-0.subvol,size=8G', 'lxc.cgroup.pids.max': '64' });
  t.is(l[1], 'lxc.include = /usr/share/lxc/config/common.conf');
  t.true(l.includes('lxc.uts.name = web1'));
  t.true(l.includes('lxc.rootfs.path = dir:/srv/images/123/subvol-123-disk-0.subvol'));
  t.true(l.includes('lxc.cgroup.memory.limit_in_bytes = 536870912'));
  t.true(l.includes('lxc.cgroup.memory.memsw.limit_in_bytes = 1073741824'));
  t.true(l.includes('lxc.cgroup.cpu.cfs_quota_us = -1'));
  t.true(l.includes('lxc.cgroup.cpu.shares = 1024'));
  t.true(l.includes('lxc.cgroup.cpuset.cpus = 0,1,2,3'));
  t.false(l.some((x) => x.startsWith('lxc.idmap')));
  t.is(l.at(-1), 'lxc.cgroup.pids.max = 64');
  t.true(l.indexOf('lxc.signal.halt = SIGUSR1') < l.length - 1);
});

test('an unprivileged container gets the default id map; limits follow memory, swap, cores, cpulimit, cpuunits', (t) => {
  const l = lines({ rootfs: 'local:1', unprivileged: '1', memory: '256', swap: '0', cores: '2', cpulimit: '0.5', cpuunits: '512' });
  t.true(l.includes('lxc.uts.name = CT123'));
  t.deepEqual(
    l.filter((x) => x.startsWith('lxc.idmap')),
    ['lxc.idmap = u 0 100000 65536', 'lxc.idmap = g 0 100000 65536'],
  );
  t.true(l.includes('lxc.cgroup.memory.limit_in_bytes = 268435456'));
  t.true(l.includes('lxc.cgroup.memory.memsw.limit_in_bytes = 268435456'));
  t.true(l.includes('lxc.cgroup.cpu.cfs_period_us = 100000'));
  t.true(l.includes('lxc.cgroup.cpu.cfs_quota_us = 50000'));
  t.true(l.includes('lxc.cgroup.cpu.shares = 512'));
  t.true(l.includes('lxc.cgroup.cpuset.cpus = 0,1'));
});

test('cgroup v2 uses lxc.cgroup2 keys and v2 file names', (t) => {
  const l = lines({ rootfs: 'local:1', memory: '128', swap: '64', cpulimit: '2' }, { version: 2 });
  t.true(l.includes('lxc.cgroup2.memory.max = 134217728'));
  t.true(l.includes('lxc.cgroup2.memory.swap.max = 67108864'));
  t.true(l.includes('lxc.cgroup2.cpu.max = 200000 100000'));
  t.true(l.includes('lxc.cgroup2.cpu.weight = 100'));
  t.false(l.some((x) => x.startsWith('lxc.cgroup.')));
});

test('a raw lxc.idmap replaces the default map and is passed through once', (t) => {
  const l = lines({ rootfs: 'local:1', unprivileged: '1', 'lxc.idmap': 'u 0 200000 65536\ng 0 200000 65536' });
  t.deepEqual(
    l.filter((x) => x.startsWith('lxc.idmap')),
    ['lxc.idmap = u 0 200000 65536', 'lxc.idmap = g 0 200000 65536'],
  );
});

test('network interfaces: veths named for plugging (no lxc.net.N.link: the start-host hook plugs them), stable MAC, static addresses', (t) => {
  const l = lines(
    {
      rootfs: 'local:1',
      net0: 'name=eth0,bridge=corbr1,hwaddr=BC:24:11:00:00:01,ip=10.20.30.40/24,gw=10.20.30.1,ip6=fd00::2/64,gw6=fd00::1,mtu=1400',
      net3: 'name=eth3,ip=dhcp,link_down=1',
    },
    { startHostHook: ['/usr/bin/node', "/opt/it's/startHostHook.js", '/run/corral/lxc/123/nic-plug.sock', '/run/corral/lxc/123/nics.json'] },
  );
  t.true(l.includes(`lxc.hook.start-host = /usr/bin/node '/opt/it'\\''s/startHostHook.js' /run/corral/lxc/123/nic-plug.sock /run/corral/lxc/123/nics.json`));
  t.true(lines({ rootfs: 'local:1' }, { startHostHook: ['/my node', '/x y'] }).includes(`lxc.hook.start-host = env '/my node' '/x y'`));
  t.false(l.some((x) => /\.link = /.test(x)));
  t.deepEqual(
    l.filter((x) => x.startsWith('lxc.net.0.')),
    [
      'lxc.net.0.type = veth',
      'lxc.net.0.veth.pair = veth123i0',
      'lxc.net.0.name = eth0',
      'lxc.net.0.hwaddr = BC:24:11:00:00:01',
      'lxc.net.0.flags = up',
      'lxc.net.0.mtu = 1400',
      'lxc.net.0.ipv4.address = 10.20.30.40/24 10.20.30.255',
      'lxc.net.0.ipv4.gateway = 10.20.30.1',
      'lxc.net.0.ipv6.address = fd00::2/64',
      'lxc.net.0.ipv6.gateway = fd00::1',
    ],
  );
  t.deepEqual(
    l.filter((x) => x.startsWith('lxc.net.3.')),
    ['lxc.net.3.type = veth', 'lxc.net.3.veth.pair = veth123i3', 'lxc.net.3.name = eth3', `lxc.net.3.hwaddr = ${derivedMac(123, 3)}`],
  );
});

test('mount points become bind entries relative to the rootfs, read-only when asked', (t) => {
  const l = lines(
    { rootfs: 'local:1', mp0: 'local:123/subvol-123-disk-1.subvol,mp=/srv/data', mp1: '/mnt/my share,mp=/shared,ro=1' },
    {
      mounts: [
        { key: 'mp0', source: '/srv/images/123/subvol-123-disk-1.subvol', target: '/srv/data', readOnly: false },
        { key: 'mp1', source: '/mnt/my share', target: '/shared', readOnly: true },
      ],
    },
  );
  t.deepEqual(
    l.filter((x) => x.startsWith('lxc.mount.entry')),
    [
      'lxc.mount.entry = /srv/images/123/subvol-123-disk-1.subvol srv/data none rbind,create=dir 0 0',
      'lxc.mount.entry = /mnt/my\\040share shared none rbind,create=dir,ro 0 0',
    ],
  );
});

const badConfigs: Array<{ description: string; entries: Record<string, string>; key: string }> = [
  { description: 'unknown key', entries: { rootfs: 'local:1', foo: '1' }, key: 'foo' },
  { description: 'memory below 16 MiB', entries: { rootfs: 'local:1', memory: '8' }, key: 'memory' },
  { description: 'memory not a number', entries: { rootfs: 'local:1', memory: 'lots' }, key: 'memory' },
  { description: 'net without name', entries: { rootfs: 'local:1', net0: 'bridge=vmbr0' }, key: 'net0' },
  { description: 'net with a bad address', entries: { rootfs: 'local:1', net0: 'name=eth0,ip=10.0.0.300/24' }, key: 'net0' },
  { description: 'two interfaces with one name', entries: { rootfs: 'local:1', net0: 'name=eth0', net1: 'name=eth0' }, key: 'net1' },
  { description: 'unknown raw key', entries: { rootfs: 'local:1', 'lxc.bogus.key': '1' }, key: 'lxc.bogus.key' },
  { description: 'rootfs.path is generated', entries: { rootfs: 'local:1', 'lxc.rootfs.path': '/x' }, key: 'lxc.rootfs.path' },
  { description: 'missing rootfs', entries: { memory: '512' }, key: 'rootfs' },
  { description: 'mount point on /', entries: { rootfs: 'local:1', mp0: '/srv,mp=/' }, key: 'mp0' },
  { description: 'two mount points on one path', entries: { rootfs: 'local:1', mp0: '/a,mp=/data', mp1: '/b,mp=/data/' }, key: 'mp1' },
  { description: 'bad id map', entries: { rootfs: 'local:1', 'lxc.idmap': 'u 0 100000' }, key: 'lxc.idmap' },
  { description: 'cores out of range', entries: { rootfs: 'local:1', cores: '0' }, key: 'cores' },
];

for (const c of badConfigs) {
  test(`invalid config names the key: ${c.description}`, (t) => {
    const err = t.throws(() => parseContainerConfig(c.entries), { instanceOf: InvalidConfigError });
    t.is(err?.key, c.key);
    t.true(err!.message.includes(c.key), err!.message);
  });
}

test('helpers: broadcast, veth names within 15 characters, stable MACs', (t) => {
  t.is(ipv4Broadcast('10.1.2.3/24'), '10.1.2.255');
  t.is(ipv4Broadcast('169.254.7.9/16'), '169.254.255.255');
  t.is(ipv4Broadcast('192.168.0.5/32'), '192.168.0.5');
  t.is(vethName(100, 0), 'veth100i0');
  t.is(vethName(999999999, 31).length, 15);
  t.is(derivedMac(100, 0), derivedMac(100, 0));
  t.not(derivedMac(100, 0), derivedMac(100, 1));
  t.regex(derivedMac(100, 0), /^BC:24:11(:[0-9A-F]{2}){3}$/);
});

test('v1 memory writes are ordered so memory+swap never drops below memory', (t) => {
  const config = parseContainerConfig({ rootfs: 'local:1', memory: '1024', swap: '512' });
  const settings = limitSettings(config, v1Host).filter((s) => s.key === 'memory' || s.key === 'swap');
  // Growing from 256+256: memsw first.
  t.deepEqual(orderMemoryWrites(settings, 512 * 1024 * 1024).map((s) => s.file), ['memory.memsw.limit_in_bytes', 'memory.limit_in_bytes']);
  // Shrinking from 4096+4096: memory first.
  t.deepEqual(orderMemoryWrites(settings, 8192 * 1024 * 1024).map((s) => s.file), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
});

test('raw cgroup settings: only the host version, last value wins, devices left to LXC', (t) => {
  const raw = [
    { key: 'lxc.cgroup.pids.max', value: '10' },
    { key: 'lxc.cgroup.pids.max', value: '20' },
    { key: 'lxc.cgroup2.pids.max', value: '30' },
    { key: 'lxc.cgroup.devices.allow', value: 'c 1:3 rwm' },
  ];
  t.deepEqual(rawCgroupSettings(raw, 1), [{ file: 'pids.max', value: '20', key: 'lxc.cgroup.pids.max' }]);
  t.deepEqual(rawCgroupSettings(raw, 2), [{ file: 'pids.max', value: '30', key: 'lxc.cgroup2.pids.max' }]);
});

/**
 * Argv of core's Linux-bridge NIC plugger (Proxmox's tap_plug) against a copy of sysfs in a
 * temp dir: bridges, VLAN filtering and MTUs are files there, the commands are recorded.
 */
import test from 'ava';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LinuxBridgeNicPlugger, MemoryLogger, type GuestNic, type NicHookContext } from '../../src/index.js';
import { makeTempDir, RecordingCommandRunner } from '../../src/testing/index.js';

interface FakeHost {
  plugger: LinuxBridgeNicPlugger;
  runner: RecordingCommandRunner;
  ctx: NicHookContext;
  log: MemoryLogger;
  sys: string;
  proc: string;
}

async function fakeHost(t: Parameters<typeof makeTempDir>[0], bridges: Record<string, { mtu: number; vlanFiltering?: boolean }>, interfaces: string[]): Promise<FakeHost> {
  const dir = await makeTempDir(t);
  const sys = join(dir, 'sys');
  const proc = join(dir, 'proc');
  for (const [name, b] of Object.entries(bridges)) {
    await mkdir(join(sys, name, 'bridge'), { recursive: true });
    await writeFile(join(sys, name, 'mtu'), `${b.mtu}\n`);
    await writeFile(join(sys, name, 'bridge', 'vlan_filtering'), b.vlanFiltering ? '1\n' : '0\n');
  }
  for (const name of interfaces) {
    await mkdir(join(sys, name), { recursive: true });
    await mkdir(join(proc, 'ipv6', 'conf', name), { recursive: true });
    await writeFile(join(proc, 'ipv6', 'conf', name, 'disable_ipv6'), '0\n');
  }
  const runner = new RecordingCommandRunner([{ match: () => true }]);
  const log = new MemoryLogger();
  return { plugger: new LinuxBridgeNicPlugger({ sysClassNet: sys, procSysNet: proc }), runner, log, sys, proc, ctx: { node: 'n1', runner, log } };
}

const tap: GuestNic = { vmid: 100, key: 'net0', kind: 'tap', ifname: 'tap100i0', bridge: 'vmbr0' };

test('plug: into the bridge with its MTU, up, IPv6 off; no VLAN commands on a bridge that does not filter', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 9000 } }, ['tap100i0']);
  const ports = await h.plugger.plug(h.ctx, tap);
  t.deepEqual(ports, { ifname: 'tap100i0', bridge: 'vmbr0' });
  t.deepEqual(h.runner.argvs, [['ip', 'link', 'set', 'dev', 'tap100i0', 'master', 'vmbr0', 'mtu', '9000', 'up']]);
  t.is(await readFile(join(h.proc, 'ipv6', 'conf', 'tap100i0', 'disable_ipv6'), 'utf8'), '1\n');
});

test('plug: the NIC MTU wins over the bridge MTU', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['tap100i0']);
  await h.plugger.plug(h.ctx, { ...tap, mtu: 1400 });
  t.deepEqual(h.runner.argvs, [['ip', 'link', 'set', 'dev', 'tap100i0', 'master', 'vmbr0', 'mtu', '1400', 'up']]);
});

test('plug: a veth with link_down stays down; a tap with link_down comes up (QEMU sets the guest link)', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['veth200i1', 'tap100i0']);
  await h.plugger.plug(h.ctx, { vmid: 200, key: 'net1', kind: 'veth', ifname: 'veth200i1', bridge: 'vmbr0', link_down: true });
  await h.plugger.plug(h.ctx, { ...tap, link_down: true });
  t.deepEqual(h.runner.argvs, [
    ['ip', 'link', 'set', 'dev', 'veth200i1', 'master', 'vmbr0', 'mtu', '1500', 'down'],
    ['ip', 'link', 'set', 'dev', 'tap100i0', 'master', 'vmbr0', 'mtu', '1500', 'up'],
  ]);
});

test('plug: tag and trunks on a VLAN-filtering bridge, as Proxmox sets them', async (t) => {
  const h = await fakeHost(t, { vmbr1: { mtu: 1500, vlanFiltering: true } }, ['tap100i0', 'tap100i1', 'tap100i2']);
  await h.plugger.plug(h.ctx, { ...tap, bridge: 'vmbr1', tag: 20 });
  await h.plugger.plug(h.ctx, { ...tap, key: 'net1', ifname: 'tap100i1', bridge: 'vmbr1', trunks: '10;30-40' });
  await h.plugger.plug(h.ctx, { ...tap, key: 'net2', ifname: 'tap100i2', bridge: 'vmbr1' });
  t.deepEqual(h.runner.argvs, [
    ['ip', 'link', 'set', 'dev', 'tap100i0', 'master', 'vmbr1', 'mtu', '1500', 'up'],
    ['bridge', 'vlan', 'del', 'dev', 'tap100i0', 'vid', '1-4094'],
    ['bridge', 'vlan', 'add', 'dev', 'tap100i0', 'vid', '20', 'pvid', 'untagged'],
    ['ip', 'link', 'set', 'dev', 'tap100i1', 'master', 'vmbr1', 'mtu', '1500', 'up'],
    ['bridge', 'vlan', 'del', 'dev', 'tap100i1', 'vid', '1-4094'],
    ['bridge', 'vlan', 'add', 'dev', 'tap100i1', 'vid', '10'],
    ['bridge', 'vlan', 'add', 'dev', 'tap100i1', 'vid', '30-40'],
    ['bridge', 'vlan', 'add', 'dev', 'tap100i1', 'vid', '1', 'pvid', 'untagged'],
    ['ip', 'link', 'set', 'dev', 'tap100i2', 'master', 'vmbr1', 'mtu', '1500', 'up'],
    ['bridge', 'vlan', 'del', 'dev', 'tap100i2', 'vid', '1-4094'],
    ['bridge', 'vlan', 'add', 'dev', 'tap100i2', 'vid', '2-4094'],
    ['bridge', 'vlan', 'add', 'dev', 'tap100i2', 'vid', '1', 'pvid', 'untagged'],
  ]);
});

test('plug: a VLAN tag on a bridge that does not filter VLANs is NotSupportedError naming the key; nothing runs', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['tap100i0']);
  const err = await t.throwsAsync(h.plugger.plug(h.ctx, { ...tap, tag: 5 }), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.regex(err!.message, /^net0: bridge 'vmbr0' does not filter VLANs/);
  await t.throwsAsync(h.plugger.plug(h.ctx, { ...tap, trunks: '5' }), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.deepEqual(h.runner.argvs, []);
});

test('plug: a missing bridge is NotFoundError naming the key and bridge; bad names and tags are InvalidArgumentError', async (t) => {
  const h = await fakeHost(t, {}, ['tap100i0']);
  const err = await t.throwsAsync(h.plugger.plug(h.ctx, { ...tap, bridge: 'vmbr9' }), { code: 'CORRAL_ERR_NOT_FOUND' });
  t.regex(err!.message, /^net0: bridge 'vmbr9' does not exist/);
  t.is((err as unknown as { kind: string }).kind, 'bridge');
  for (const bad of [{ bridge: 'a b' }, { ifname: 'tap100i0; rm' }, { bridge: 'averyveryverylongbridge' }, { tag: 0 }, { tag: 4095 }, { trunks: '10,20' }, { trunks: '0' }, { trunks: '4095' }, { trunks: '30-20' }, { trunks: '10-20-30' }, { trunks: '10;' }, { trunks: '' }, { mtu: 10 }, { rate: -1 }]) {
    const e = await t.throwsAsync(h.plugger.plug(h.ctx, { ...tap, ...bad }), { code: 'CORRAL_ERR_INVALID_ARGUMENT' });
    t.is((e as unknown as { argument: string }).argument, 'net0');
  }
  t.deepEqual(h.runner.argvs, []);
});

test('plug: firewall=1 builds Proxmox\'s port: fwbr bridge, fwln/fwpr veth, VLANs on fwpr, the tap in fwbr', async (t) => {
  const h = await fakeHost(t, { vmbr1: { mtu: 1500, vlanFiltering: true } }, ['tap100i3']);
  const ports = await h.plugger.plug(h.ctx, { ...tap, key: 'net3', ifname: 'tap100i3', bridge: 'vmbr1', firewall: true, tag: 7 });
  t.deepEqual(ports, { ifname: 'tap100i3', bridge: 'vmbr1', firewallBridge: 'fwbr100i3', firewallLink: 'fwln100i3', firewallPeer: 'fwpr100p3' });
  t.deepEqual(h.runner.argvs, [
    ['ip', 'link', 'add', 'name', 'fwbr100i3', 'mtu', '1500', 'type', 'bridge'],
    ['ip', 'link', 'set', 'dev', 'fwbr100i3', 'up'],
    ['ip', 'link', 'add', 'name', 'fwln100i3', 'mtu', '1500', 'type', 'veth', 'peer', 'name', 'fwpr100p3', 'mtu', '1500'],
    ['ip', 'link', 'set', 'dev', 'fwpr100p3', 'master', 'vmbr1', 'mtu', '1500', 'up'],
    ['bridge', 'vlan', 'del', 'dev', 'fwpr100p3', 'vid', '1-4094'],
    ['bridge', 'vlan', 'add', 'dev', 'fwpr100p3', 'vid', '7', 'pvid', 'untagged'],
    ['ip', 'link', 'set', 'dev', 'fwln100i3', 'master', 'fwbr100i3', 'mtu', '1500', 'up'],
    ['ip', 'link', 'set', 'dev', 'tap100i3', 'master', 'fwbr100i3', 'mtu', '1500', 'up'],
  ]);
});

test('plug: a stale firewall port is removed first; unplug takes the interface out and removes the port', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['tap100i0', 'fwbr100i0', 'fwln100i0']);
  await h.plugger.plug(h.ctx, tap);
  t.deepEqual(h.runner.argvs.slice(0, 2), [
    ['ip', 'link', 'del', 'dev', 'fwln100i0'],
    ['ip', 'link', 'del', 'dev', 'fwbr100i0'],
  ]);
  h.runner.calls.length = 0;
  await symlink('../vmbr0', join(h.sys, 'tap100i0', 'master'));
  await h.plugger.unplug(h.ctx, tap);
  t.deepEqual(h.runner.argvs, [
    ['ip', 'link', 'set', 'dev', 'tap100i0', 'nomaster'],
    ['ip', 'link', 'del', 'dev', 'fwln100i0'],
    ['ip', 'link', 'del', 'dev', 'fwbr100i0'],
  ]);
});

test('unplug of an interface that is gone runs nothing', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, []);
  await h.plugger.unplug(h.ctx, { ...tap, firewall: true });
  t.deepEqual(h.runner.argvs, []);
});

test('plug: rate in MB/s becomes Proxmox\'s tc limit (htb egress, policed ingress, 1 MiB burst)', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['tap100i0']);
  await h.plugger.plug(h.ctx, { ...tap, rate: 2.5 });
  t.deepEqual(h.runner.argvs.slice(1), [
    ['tc', 'class', 'del', 'dev', 'tap100i0', 'parent', '1:', 'classid', '1:1'],
    ['tc', 'filter', 'del', 'dev', 'tap100i0', 'parent', 'ffff:', 'protocol', 'all', 'pref', '50', 'u32'],
    ['tc', 'qdisc', 'del', 'dev', 'tap100i0', 'ingress'],
    ['tc', 'qdisc', 'del', 'dev', 'tap100i0', 'root'],
    ['tc', 'qdisc', 'add', 'dev', 'tap100i0', 'root', 'handle', '1:', 'htb', 'default', '1'],
    ['tc', 'class', 'add', 'dev', 'tap100i0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '2621440bps', 'burst', '1048576b'],
    ['tc', 'qdisc', 'add', 'dev', 'tap100i0', 'handle', 'ffff:', 'ingress'],
    ['tc', 'filter', 'add', 'dev', 'tap100i0', 'parent', 'ffff:', 'prio', '50', 'basic', 'police', 'rate', '2621440bps', 'burst', '1048576b', 'mtu', '64kb', 'drop'],
  ]);
});

test('plug: a kernel without the tc policer keeps the egress limit and warns naming the key (stderr recorded from tc 6.1 on kernel 6.18)', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['tap100i0']);
  const runner = new RecordingCommandRunner([
    { match: { prefix: ['tc', 'filter', 'add'] }, exitCode: 2, stderr: 'Error: TC classifier not found.\nWe have an error talking to the kernel\n' },
    { match: () => true },
  ]);
  await h.plugger.plug({ ...h.ctx, runner }, { ...tap, rate: 1 });
  t.deepEqual(runner.argvs.at(-1), ['tc', 'qdisc', 'del', 'dev', 'tap100i0', 'ingress']);
  t.true(h.log.lines.some((l) => l.level === 'warn' && /^net0: rate=1: traffic from the guest is not limited/.test(l.message)));
});

test('plug: a failing step undoes the port (the interface leaves the bridge, the firewall port goes)', async (t) => {
  const h = await fakeHost(t, { vmbr0: { mtu: 1500 } }, ['tap100i0']);
  const runner = new RecordingCommandRunner([
    { match: ['ip', 'link', 'set', 'dev', 'tap100i0', 'master', 'fwbr100i0', 'mtu', '1500', 'up'], exitCode: 2, stderr: 'boom' },
    { match: () => true },
  ]);
  // The port devices "exist" once created, so the undo removes them.
  await mkdir(join(h.sys, 'fwbr100i0'));
  await mkdir(join(h.sys, 'fwln100i0'));
  await t.throwsAsync(h.plugger.plug({ ...h.ctx, runner }, { ...tap, firewall: true }), { code: 'CORRAL_ERR_COMMAND_FAILED' });
  t.deepEqual(runner.argvs.slice(-2), [
    ['ip', 'link', 'del', 'dev', 'fwln100i0'],
    ['ip', 'link', 'del', 'dev', 'fwbr100i0'],
  ]);
});

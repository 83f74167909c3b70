/**
 * NIC plug hooks around core's plugger: order, a hook resolving the bridge, undo after a
 * failure, and what `update` re-plugs. Argv recorded against a copy of sysfs in a temp dir.
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LinuxBridgeNicPlugger, MemoryLogger, type GuestNic, type NicPlugHook } from '../../src/index.js';
import { guestNetworkAccess } from '../../src/network/guestNetworkAccess.js';
import { makeTempDir, RecordingCommandRunner } from '../../src/testing/index.js';

async function setup(t: Parameters<typeof makeTempDir>[0], hooks: NicPlugHook[], script: ConstructorParameters<typeof RecordingCommandRunner>[0] = []) {
  const dir = await makeTempDir(t);
  const sys = join(dir, 'sys');
  for (const br of ['vmbr0', 'vmbr5']) {
    await mkdir(join(sys, br, 'bridge'), { recursive: true });
    await writeFile(join(sys, br, 'mtu'), '1500\n');
  }
  await mkdir(join(sys, 'veth200i0'), { recursive: true });
  const runner = new RecordingCommandRunner([...(script ?? []), { match: () => true }]);
  const log = new MemoryLogger();
  const access = guestNetworkAccess({
    plugger: new LinuxBridgeNicPlugger({ sysClassNet: sys, procSysNet: join(dir, 'proc') }),
    hooks: () => hooks,
    ctx: { node: 'n1', runner, log },
  });
  return { access, runner, log };
}

const veth: GuestNic = { vmid: 200, key: 'net0', kind: 'veth', ifname: 'veth200i0', bridge: 'vnet5', mac: 'BC:24:11:00:00:01' };

/** A hook that records its calls and maps vnet<N> to vmbr<N>, as an SDN hook would. */
function recordingHook(name: string, calls: string[], resolve = false): NicPlugHook {
  const map = (nic: GuestNic): GuestNic | void => (resolve && nic.bridge.startsWith('vnet') ? { ...nic, bridge: `vmbr${nic.bridge.slice(4)}` } : undefined);
  return {
    beforePlug: async (_ctx, nic) => (calls.push(`${name} beforePlug ${nic.bridge}`), map(nic)),
    afterPlug: async (_ctx, nic, ports) => void calls.push(`${name} afterPlug ${nic.bridge} ${ports.ifname}`),
    beforeUnplug: async (_ctx, nic) => (calls.push(`${name} beforeUnplug ${nic.bridge}`), map(nic)),
    afterUnplug: async (_ctx, nic) => void calls.push(`${name} afterUnplug ${nic.bridge}`),
  };
}

test('hooks run in order around plug and in reverse around unplug; a hook resolves the vnet to its bridge', async (t) => {
  const calls: string[] = [];
  const { access, runner } = await setup(t, [recordingHook('sdn', calls, true), recordingHook('fw', calls)]);
  const ports = await access.plug(veth);
  t.deepEqual(ports, { ifname: 'veth200i0', bridge: 'vmbr5' });
  t.deepEqual(runner.argvs, [['ip', 'link', 'set', 'dev', 'veth200i0', 'master', 'vmbr5', 'mtu', '1500', 'up']]);
  t.deepEqual(calls, ['sdn beforePlug vnet5', 'fw beforePlug vmbr5', 'sdn afterPlug vmbr5 veth200i0', 'fw afterPlug vmbr5 veth200i0']);
  calls.length = 0;
  await access.unplug(veth);
  t.deepEqual(calls, ['fw beforeUnplug vnet5', 'sdn beforeUnplug vnet5', 'fw afterUnplug vnet5', 'sdn afterUnplug vnet5']);
});

test('a hook failing after the plug: the NIC is unplugged and every hook that prepared gets afterUnplug', async (t) => {
  const calls: string[] = [];
  const failing: NicPlugHook = { ...recordingHook('fw', calls), afterPlug: async () => Promise.reject(new Error('rules did not load')) };
  const { access } = await setup(t, [recordingHook('sdn', calls, true), failing]);
  await t.throwsAsync(access.plug(veth), { message: 'rules did not load' });
  t.deepEqual(calls, ['sdn beforePlug vnet5', 'fw beforePlug vmbr5', 'sdn afterPlug vmbr5 veth200i0', 'fw afterUnplug vmbr5', 'sdn afterUnplug vnet5']);
});

test('a failing plug (missing bridge) gives earlier hooks afterUnplug and names the key', async (t) => {
  const calls: string[] = [];
  const { access } = await setup(t, [recordingHook('a', calls)]);
  const err = await t.throwsAsync(access.plug({ ...veth, bridge: 'vmbr9' }), { code: 'CORRAL_ERR_NOT_FOUND' });
  t.regex(err!.message, /^net0: bridge 'vmbr9'/);
  t.deepEqual(calls, ['a beforePlug vmbr9', 'a afterUnplug vmbr9']);
});

test('a failing afterUnplug is a warning, not an error', async (t) => {
  const { access, log } = await setup(t, [{ afterUnplug: async () => Promise.reject(new Error('gone already')) }]);
  await access.unplug({ ...veth, bridge: 'vmbr0' });
  t.true(log.lines.some((l) => l.level === 'warn' && /net0: a NIC hook failed after unplugging veth200i0: gone already/.test(l.message)));
});

test('update: bridge or tag changes re-plug through the hooks; rate only resets tc; link_down sets a veth down', async (t) => {
  const calls: string[] = [];
  const { access, runner } = await setup(t, [recordingHook('h', calls)]);
  const nic = { ...veth, bridge: 'vmbr0' };
  await access.update(nic, { ...nic, bridge: 'vmbr5' });
  t.deepEqual(calls, ['h beforeUnplug vmbr0', 'h afterUnplug vmbr0', 'h beforePlug vmbr5', 'h afterPlug vmbr5 veth200i0']);
  t.deepEqual(runner.argvs, [['ip', 'link', 'set', 'dev', 'veth200i0', 'master', 'vmbr5', 'mtu', '1500', 'up']]);
  calls.length = 0;
  runner.calls.length = 0;
  await access.update(nic, { ...nic, rate: 1 });
  await access.update(nic, { ...nic, link_down: true });
  t.deepEqual(calls, []);
  t.deepEqual(runner.argvs.filter((a) => a[2] === 'add' || a[0] === 'ip').map((a) => a.slice(0, 3).join(' ')), [
    'tc qdisc add',
    'tc class add',
    'tc qdisc add',
    'tc filter add',
    'ip link set',
  ]);
  t.deepEqual(runner.argvs.at(-1), ['ip', 'link', 'set', 'dev', 'veth200i0', 'down']);
  await t.throwsAsync(access.update(nic, { ...nic, ifname: 'veth200i9' }), { code: 'CORRAL_ERR_INVALID_ARGUMENT' });
});

test('resolveBridge: the first hook that knows the name gives the bridge to check, plug and unplug', async (t) => {
  const asked: string[] = [];
  const hooks: NicPlugHook[] = [
    { resolveBridge: async (_ctx, nic) => void asked.push(`a ${nic.bridge}`) },
    { resolveBridge: async (_ctx, nic) => (asked.push(`b ${nic.bridge}`), nic.bridge === 'vnet5' ? 'vmbr5' : undefined) },
    { resolveBridge: async () => (asked.push('c'), 'never') },
  ];
  const { access, runner } = await setup(t, hooks);
  t.deepEqual(await access.check(veth), { bridge: 'vmbr5', bridgeMtu: 1500 });
  t.deepEqual(runner.argvs, [], 'check changes nothing');
  t.deepEqual(asked, ['a vnet5', 'b vnet5']);
  t.deepEqual(await access.plug(veth), { ifname: 'veth200i0', bridge: 'vmbr5' });
  const e = await t.throwsAsync(access.check({ ...veth, bridge: 'vnet7' }), { code: 'CORRAL_ERR_NOT_FOUND' });
  t.regex(e!.message, /^net0: bridge 'never' does not exist/);
});

test('check: a VLAN tag on a bridge that does not filter VLANs is NotSupportedError naming the key', async (t) => {
  const { access } = await setup(t, []);
  const e = await t.throwsAsync(access.check({ ...veth, bridge: 'vmbr0', tag: 3 }), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.regex(e!.message, /^net0: bridge 'vmbr0' does not filter VLANs/);
});

test('update: a re-plug that fails (missing bridge) puts the NIC back into its old bridge and rethrows', async (t) => {
  const { access, runner } = await setup(t, []);
  const before: GuestNic = { ...veth, bridge: 'vmbr5' };
  await t.throwsAsync(access.update(before, { ...before, bridge: 'vmbr9' }), { message: /vmbr9/ });
  t.deepEqual(runner.argvs, [['ip', 'link', 'set', 'dev', 'veth200i0', 'master', 'vmbr5', 'mtu', '1500', 'up']]);
});

test('an afterUnplug hook that throws at once (not a rejected promise) is a warning; the other hooks still run', async (t) => {
  const calls: string[] = [];
  const throwing: NicPlugHook = {
    ...recordingHook('fw', calls),
    afterUnplug: () => {
      throw new Error('chains already gone');
    },
  };
  const { access, log } = await setup(t, [recordingHook('sdn', calls, true), throwing]);
  await access.plug(veth);
  calls.length = 0;
  await access.unplug(veth);
  t.deepEqual(calls, ['fw beforeUnplug vnet5', 'sdn beforeUnplug vnet5', 'sdn afterUnplug vnet5']);
  t.true(log.lines.some((e) => e.level === 'warn' && /a NIC hook failed after unplugging veth200i0: chains already gone/.test(e.message)), JSON.stringify(log.lines));
});

/**
 * SDN zones applied for real inside a network namespace standing for a node: the simple zone
 * with a subnet gateway, the engine's commands on an empty node, refusals of what this kernel
 * lacks (vlan, qinq, evpn), a device SDN did not create, and atomic rollback (a real kernel
 * refusal, then a step made to fail at the very end).
 */
import test, { type ExecutionContext } from 'ava';
import { MemoryLogger, type CommandRunner, type NetworkContext, type RunOptions } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { guestNetns, isReadCommand, netns, runner, sh } from './sdnNetnsSupport.js';
import {
  creationArgvs,
  EvpnZoneDriver,
  parseSubnetsCfg,
  parseVnetsCfg,
  parseZonesCfg,
  QinqZoneDriver,
  readLinks,
  readVxlanRemotes,
  SdnService,
  SimpleZoneDriver,
  VlanZoneDriver,
  VxlanZoneDriver,
  type SdnConfig,
} from '../src/index.js';

const real = realTest(test, process.getuid?.() === 0 && hasProgram('ip') && hasProgram('bridge') && hasProgram('busybox'), 'root with iproute2 (ip, bridge) and busybox (ping)');

const drivers = new Map<string, import('@corral/core').NetworkZoneDriver>([
  ['simple', new SimpleZoneDriver()],
  ['vxlan', new VxlanZoneDriver()],
  ['vlan', new VlanZoneDriver()],
  ['qinq', new QinqZoneDriver()],
  ['evpn', new EvpnZoneDriver()],
]);
const sdn = new SdnService(drivers);

/** Passes commands on, recording them; fails the command `failOn` matches (the injected failure). */
class TestRunner implements CommandRunner {
  readonly argvs: string[][] = [];
  constructor(private readonly failOn?: (argv: readonly string[]) => boolean) {}
  run(argv: readonly string[], options?: RunOptions) {
    this.argvs.push([...argv]);
    if (this.failOn?.(argv)) return Promise.reject(new Error(`injected failure: ${argv.join(' ')}`));
    return runner.run(argv, options);
  }
  get changes(): string[][] {
    return this.argvs.filter((argv) => !isReadCommand(argv));
  }
}

/** A namespace for a node (removed with everything in it when the test ends), with an underlay address. */
async function node(t: ExecutionContext): Promise<NetworkContext & { netns: string; log: MemoryLogger }> {
  const ns = `sdnz${Math.floor(Math.random() * 0xffffff).toString(16)}`;
  await sh('ip', 'netns', 'add', ns);
  t.teardown(() => runner.run(['ip', 'netns', 'del', ns], { okExitCodes: [0, 1] }));
  await sh('ip', '-n', ns, 'link', 'add', 'name', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
  await sh('ip', '-n', ns, 'addr', 'add', '10.251.0.1/24', 'dev', 'ul0');
  for (const dev of ['lo', 'ul0', 'ul1']) await sh('ip', '-n', ns, 'link', 'set', 'dev', dev, 'up');
  return { node: 'n1', netns: ns, runner, log: new MemoryLogger() };
}

/** Everything about the namespace's devices that SDN sets, for before/after comparisons. */
async function snapshot(ctx: NetworkContext) {
  const links = await readLinks(ctx);
  const out: Record<string, unknown> = {};
  for (const link of [...links.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    out[link.name] = { ...link, remotes: link.kind === 'vxlan' ? await readVxlanRemotes(ctx, link.name) : [] };
  }
  return out;
}

function config(zones: string, vnets: string, subnets = ''): SdnConfig {
  return { zones: parseZonesCfg(zones), vnets: parseVnetsCfg(vnets), subnets: parseSubnetsCfg(subnets) };
}

const V1 = config(
  'simple: sz\n\tipam pve\n\nvxlan: vz\n\tpeers 10.251.0.1,10.251.0.7,10.251.0.8\n\n',
  'vnet: sv\n\tzone sz\n\nvnet: va\n\tzone vz\n\ttag 7101\n\nvnet: vc\n\tzone vz\n\ttag 7103\n\n',
  'subnet: sz-10.252.0.0-24\n\tvnet sv\n\tgateway 10.252.0.1\n\n',
);

real.serial('simple zone: the vnet bridge carries the subnet gateway and a guest on it reaches it; commands are the planned ones', async (t) => {
  const ctx = await node(t);
  const initial = await readLinks(ctx);
  const recorder = new TestRunner();
  const statuses = await sdn.apply({ ...ctx, runner: recorder }, V1);
  t.deepEqual(statuses, [
    { vnet: 'sv', bridge: 'sv', up: true },
    { vnet: 'va', bridge: 'va', up: true },
    { vnet: 'vc', bridge: 'vc', up: true },
  ]);
  const links = await readLinks(ctx);
  t.like(links.get('sv'), { kind: 'bridge', up: true, addresses: ['10.252.0.1/24'], alias: 'corral-sdn:sz' });
  t.like(links.get('vxlan_va'), { mtu: 1450, vxlan: { id: 7101, port: 4789 }, master: 'va' });
  t.deepEqual(await readVxlanRemotes(ctx, 'vxlan_vc'), ['10.251.0.7', '10.251.0.8']);
  // On an empty node the engine runs exactly the commands creationArgvs describes.
  const planned = [];
  for (const r of sdn.resolve(V1, ctx.node)) planned.push(...(await (r.driver as SimpleZoneDriver).plan(ctx, r.zone, r.vnets, initial)));
  t.deepEqual(recorder.changes, creationArgvs(ctx, planned));
  // A guest namespace in the simple vnet reaches the gateway.
  const guest = await guestNetns(t, { node: ctx.netns, bridge: 'sv', name: `${ctx.netns}g`, hostIf: 'tap900i0', address: '10.252.0.50/24' });
  const ping = await runner.run(['ip', 'netns', 'exec', guest, 'busybox', 'ping', '-c', '2', '-W', '5', '10.252.0.1'], { okExitCodes: [0, 1] });
  t.is(ping.exitCode, 0, ping.stdout);
});

real.serial('a failed apply leaves the old network up: a real kernel refusal (VNI taken) in the middle', async (t) => {
  const ctx = await node(t);
  await sdn.apply(ctx, V1);
  // A VXLAN device SDN did not create holds VNI 7202: the kernel refuses a second one.
  await sh('ip', '-n', ctx.netns, 'link', 'add', 'name', 'foreign0', 'type', 'vxlan', 'id', '7202', 'dstport', '4789');
  const before = await snapshot(ctx);
  // V2: vz gets MTU 1400, vc is gone, vb (VNI 7202) is new, sz's gateway changes.
  const v2 = config(
    'simple: sz\n\tipam pve\n\nvxlan: vz\n\tpeers 10.251.0.1,10.251.0.9\n\tmtu 1400\n\n',
    'vnet: sv\n\tzone sz\n\nvnet: va\n\tzone vz\n\ttag 7101\n\nvnet: vb\n\tzone vz\n\ttag 7202\n\n',
    'subnet: sz-10.253.0.0-24\n\tvnet sv\n\tgateway 10.253.0.1\n\n',
  );
  const error = await t.throwsAsync(sdn.apply(ctx, v2), { code: 'CORRAL_ERR_COMMAND_FAILED' });
  t.regex(error!.message, /VNI/);
  t.deepEqual(await snapshot(ctx), before);
});

real.serial('a failed apply leaves the old network up: the last step fails after every phase changed something', async (t) => {
  const ctx = await node(t);
  await sdn.apply(ctx, V1);
  const before = await snapshot(ctx);
  const v2 = config(
    'simple: sz\n\tipam pve\n\tmtu 1300\n\nvxlan: vz\n\tpeers 10.251.0.1,10.251.0.9\n\tmtu 1400\n\n',
    'vnet: sv\n\tzone sz\n\nvnet: va\n\tzone vz\n\ttag 7101\n\nvnet: vb\n\tzone vz\n\ttag 7202\n\n',
    'subnet: sz-10.253.0.0-24\n\tvnet sv\n\tgateway 10.253.0.1\n\n',
  );
  // Fail the very last command the apply would run: bringing up vxlan_vb.
  const failing = new TestRunner((argv) => argv.join(' ').endsWith('link set dev vxlan_vb up'));
  await t.throwsAsync(sdn.apply({ ...ctx, runner: failing }, v2), { message: /injected failure/ });
  // Every phase ran: deletions, creations, ports, MTUs, addresses and fdb entries.
  const ran = failing.changes.map((argv) => argv.join(' '));
  for (const step of ['link del dev vc', 'link add name vb', 'dev vxlan_vb master vb', 'mtu 1400', 'addr add 10.253.0.1/24', 'fdb append 00:00:00:00:00:00 dev vxlan_va dst 10.251.0.9']) {
    t.true(ran.some((line) => line.includes(step)), step);
  }
  t.deepEqual(await snapshot(ctx), before);
  // And the same config applies once the failure is gone.
  await sdn.apply(ctx, v2);
  t.like((await readLinks(ctx)).get('vxlan_vb'), { vxlan: { id: 7202 }, mtu: 1400, up: true });
});

real.serial('SDN does not take over a device it did not create', async (t) => {
  const ctx = await node(t);
  await sh('ip', '-n', ctx.netns, 'link', 'add', 'name', 'sv', 'type', 'bridge');
  await t.throwsAsync(sdn.apply(ctx, config('simple: sz\n\n', 'vnet: sv\n\tzone sz\n\n')), { code: 'CORRAL_ERR_CONFLICT', message: /'sv' exists and was not created by SDN/ });
});

real.serial('vlan, qinq and evpn zones are refused with NotSupportedError naming what this kernel lacks, nothing left behind', async (t) => {
  const ctx = await node(t);
  await sh('ip', '-n', ctx.netns, 'link', 'add', 'name', 'vmbr0', 'type', 'bridge');
  await sh('ip', '-n', ctx.netns, 'link', 'set', 'dev', 'ul1', 'master', 'vmbr0');
  const before = await snapshot(ctx);
  const vlan = await t.throwsAsync(sdn.apply(ctx, config('vlan: lz\n\tbridge vmbr0\n\n', 'vnet: lv\n\tzone lz\n\ttag 10\n\n')), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.regex(vlan!.message, /zone 'lz': a vlan zone needs 802\.1q VLAN devices on bridge vmbr0 \(kernel module 8021q\), which this kernel cannot make: .*Unknown device type/);
  const qinq = await t.throwsAsync(sdn.apply(ctx, config('qinq: qz\n\tbridge vmbr0\n\ttag 20\n\n', 'vnet: qv\n\tzone qz\n\ttag 10\n\n')), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.regex(qinq!.message, /qinq zone needs 802\.1ad VLAN devices/);
  const evpn = await t.throwsAsync(sdn.apply(ctx, config('evpn: ez\n\tcontroller c1\n\tvrf-vxlan 4000\n\n', 'vnet: ev\n\tzone ez\n\ttag 11\n\n')), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.regex(evpn!.message, /FRR's BGP EVPN controller.*vrf devices, which this kernel cannot make/);
  t.deepEqual(await snapshot(ctx), before);
});

real.serial('simple zone snat: a guest reaches an upstream host that has no route back, through the node address; without snat it cannot', async (t) => {
  const ctx = await node(t);
  // Upstream: a namespace on the node's uplink (10.248.0.2) with no route to the vnet's subnet.
  const upstream = await netns(t, `${ctx.netns}u`);
  await sh('ip', 'link', 'add', 'name', 'uplink0', 'netns', ctx.netns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream);
  await sh('ip', '-n', ctx.netns, 'addr', 'add', '10.248.0.1/24', 'dev', 'uplink0');
  await sh('ip', '-n', ctx.netns, 'link', 'set', 'dev', 'uplink0', 'up');
  await sh('ip', '-n', ctx.netns, 'route', 'add', 'default', 'via', '10.248.0.2');
  await sh('ip', '-n', upstream, 'addr', 'add', '10.248.0.2/24', 'dev', 'eth0');
  await sh('ip', '-n', upstream, 'link', 'set', 'dev', 'eth0', 'up');
  const withSnat = config('simple: sz\n\tipam pve\n\n', 'vnet: sv\n\tzone sz\n\n', 'subnet: sz-10.252.0.0-24\n\tvnet sv\n\tgateway 10.252.0.1\n\tsnat 1\n\n');
  await sdn.apply(ctx, withSnat);
  // The guest, default route via the vnet gateway.
  const guest = await guestNetns(t, { node: ctx.netns, bridge: 'sv', name: `${ctx.netns}g`, hostIf: 'tap901i0', address: '10.252.0.50/24' });
  await sh('ip', '-n', guest, 'route', 'add', 'default', 'via', '10.252.0.1');
  const ping = () => runner.run(['ip', 'netns', 'exec', guest, 'busybox', 'ping', '-c', '2', '-W', '2', '10.248.0.2'], { okExitCodes: [0, 1] });
  const reached = await ping();
  t.is(reached.exitCode, 0, reached.stdout);
  const table = await sh('ip', 'netns', 'exec', ctx.netns, '/usr/sbin/nft', 'list', 'table', 'ip', 'corral_sdn');
  t.regex(table.stdout, /ip saddr 10\.252\.0\.0\/24 oifname "uplink0" counter packets [1-9]\d* bytes \d+ snat to 10\.248\.0\.1/);
  // A second apply changes nothing; without snat the table goes and the upstream cannot answer.
  const recorder = new TestRunner();
  await sdn.apply({ ...ctx, runner: recorder }, withSnat);
  t.deepEqual(recorder.changes, []);
  await sdn.apply(ctx, config('simple: sz\n\tipam pve\n\n', 'vnet: sv\n\tzone sz\n\n', 'subnet: sz-10.252.0.0-24\n\tvnet sv\n\tgateway 10.252.0.1\n\n'));
  await t.throwsAsync(sh('ip', 'netns', 'exec', ctx.netns, '/usr/sbin/nft', 'list', 'table', 'ip', 'corral_sdn'), { message: /No such file or directory/ });
  t.is((await ping()).exitCode, 1);
});

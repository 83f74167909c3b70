/**
 * Core's NIC plugging on real Linux bridges and veths (host network namespace, unique names):
 * the default plugger alone, the `firewall=1` port, the tc limit, and a hook registered by a
 * test plugin being called when a guest of a test hypervisor starts and stops.
 */
import test, { type ExecutionContext } from 'ava';
import { readFile, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  definePlugin,
  extensionPoints,
  LinuxBridgeNicPlugger,
  MemoryLogger,
  NodeCommandRunner,
  ROOT_CALLER,
  type GuestContext,
  type GuestNic,
  type HypervisorDriver,
  type NicPlugHook,
} from '../../src/index.js';
import { createTestKernel, hasProgram, realTest } from '../../src/testing/index.js';

const runner = new NodeCommandRunner();
const real = realTest(test, process.getuid?.() === 0 && hasProgram('ip') && hasProgram('tc'), 'root with iproute2 (ip, tc)');

async function ip(...argv: string[]): Promise<void> {
  await runner.run(['ip', ...argv], { timeoutMs: 10_000 });
}

/** A bridge and a veth pair with names unique to this run; removed when the test ends. */
async function testLinks(t: ExecutionContext, tag: string) {
  const id = Math.floor(Math.random() * 0xfffff).toString(16);
  const bridge = `nbr${tag}${id}`.slice(0, 15);
  const host = `nvh${tag}${id}`.slice(0, 15);
  const peer = `nvp${tag}${id}`.slice(0, 15);
  await ip('link', 'add', 'name', bridge, 'mtu', '1400', 'type', 'bridge');
  t.teardown(() => runner.run(['ip', 'link', 'del', 'dev', bridge], { okExitCodes: [0, 1, 2] }));
  await ip('link', 'set', 'dev', bridge, 'up');
  await ip('link', 'add', 'name', host, 'type', 'veth', 'peer', 'name', peer);
  t.teardown(() => runner.run(['ip', 'link', 'del', 'dev', host], { okExitCodes: [0, 1, 2] }));
  return { bridge, host, peer };
}

const master = (ifname: string): Promise<string | undefined> => readlink(`/sys/class/net/${ifname}/master`).then(basename, () => undefined);

real.serial('plug puts a real veth into a real bridge with the bridge MTU; unplug takes it out', async (t) => {
  const { bridge, host } = await testLinks(t, 'a');
  const plugger = new LinuxBridgeNicPlugger();
  const ctx = { node: 'n1', runner, log: new MemoryLogger() };
  const nic: GuestNic = { vmid: 990001, key: 'net0', kind: 'veth', ifname: host, bridge };
  t.deepEqual(await plugger.plug(ctx, nic), { ifname: host, bridge });
  t.is(await master(host), bridge);
  t.is((await readFile(`/sys/class/net/${host}/mtu`, 'utf8')).trim(), '1400');
  await plugger.unplug(ctx, nic);
  t.is(await master(host), undefined);
  // A missing bridge fails before anything changes; so does a VLAN tag on this bridge, which
  // does not filter VLANs (this kernel has no VLAN-aware bridges at all).
  await t.throwsAsync(plugger.plug(ctx, { ...nic, bridge: 'nosuchbr0' }), { code: 'CORRAL_ERR_NOT_FOUND' });
  const vlan = await t.throwsAsync(plugger.plug(ctx, { ...nic, tag: 10 }), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.regex(vlan!.message, /^net0: bridge '.*' does not filter VLANs/);
  t.is(await master(host), undefined);
});

real.serial('firewall=1: the veth sits in fwbr<vmid>i<N>, whose fwpr peer is in the bridge; unplug removes the port', async (t) => {
  const { bridge, host } = await testLinks(t, 'b');
  const vmid = 900000 + Math.floor(Math.random() * 99999);
  const plugger = new LinuxBridgeNicPlugger();
  const ctx = { node: 'n1', runner, log: new MemoryLogger() };
  const nic: GuestNic = { vmid, key: 'net1', kind: 'veth', ifname: host, bridge, firewall: true };
  t.teardown(() => plugger.unplug(ctx, nic));
  const ports = await plugger.plug(ctx, nic);
  t.deepEqual(ports, { ifname: host, bridge, firewallBridge: `fwbr${vmid}i1`, firewallLink: `fwln${vmid}i1`, firewallPeer: `fwpr${vmid}p1` });
  t.is(await master(host), `fwbr${vmid}i1`);
  t.is(await master(`fwln${vmid}i1`), `fwbr${vmid}i1`);
  t.is(await master(`fwpr${vmid}p1`), bridge);
  // Plugging again re-creates the port (idempotent).
  await plugger.plug(ctx, nic);
  t.is(await master(`fwpr${vmid}p1`), bridge);
  await plugger.unplug(ctx, nic);
  t.is(await master(host), undefined);
  for (const gone of [`fwbr${vmid}i1`, `fwln${vmid}i1`, `fwpr${vmid}p1`]) t.is(await readlink(`/sys/class/net/${gone}`).catch(() => 'gone'), 'gone', gone);
});

real.serial('rate: the htb class carries the rate in bytes/s; the ingress half is applied or warned about', async (t) => {
  const { bridge, host } = await testLinks(t, 'c');
  const plugger = new LinuxBridgeNicPlugger();
  const log = new MemoryLogger();
  const ctx = { node: 'n1', runner, log };
  await plugger.plug(ctx, { vmid: 990003, key: 'net0', kind: 'veth', ifname: host, bridge, rate: 1 });
  const classes = (await runner.run(['tc', 'class', 'show', 'dev', host])).stdout;
  t.regex(classes, /class htb 1:1 root .*rate 8388Kbit/);
  const filters = (await runner.run(['tc', 'filter', 'show', 'dev', host, 'parent', 'ffff:'], { okExitCodes: [0, 1, 2] })).stdout;
  const warned = log.lines.some((l) => l.level === 'warn' && /net0: rate=1: traffic from the guest is not limited/.test(l.message));
  t.true(warned !== /police/.test(filters), `either the policer is there or a warning says why (filters: ${filters})`);
});

real.serial('a hook registered by a plugin is called when a guest plugs its NIC; it resolves the bridge', async (t) => {
  const { bridge, host } = await testLinks(t, 'd');
  const calls: string[] = [];
  const hook: NicPlugHook = {
    async beforePlug(_ctx, nic) {
      calls.push(`beforePlug ${nic.bridge}`);
      return nic.bridge === 'vnetdemo' ? { ...nic, bridge } : undefined;
    },
    async afterPlug(_ctx, nic, ports) {
      calls.push(`afterPlug ${nic.key} ${ports.ifname}`);
    },
    async afterUnplug(_ctx, nic) {
      calls.push(`afterUnplug ${nic.key}`);
    },
  };
  // A test hypervisor whose guests are one veth: start plugs it, stop unplugs it.
  let running = false;
  const nicOf = (ctx: GuestContext): GuestNic => ({ vmid: ctx.vmid, key: 'net0', kind: 'veth', ifname: host, bridge: 'vnetdemo' });
  const driver = {
    info: { type: 'lxc', configDir: 'lxc', snapshotWithState: false, suspendToDisk: false, consoles: [] },
    validate: () => undefined,
    volumes: () => [],
    volumeRequests: () => [],
    replaceVolume: (_k: string, v: string) => v,
    privilegedUses: () => [],
    status: async () => ({ state: running ? 'running' : 'stopped' }),
    async start(ctx: GuestContext) {
      await ctx.network.plug(nicOf(ctx));
      running = true;
    },
    async stop(ctx: GuestContext) {
      await ctx.network.unplug(nicOf(ctx));
      running = false;
    },
  } as unknown as HypervisorDriver;
  const plugins = [
    definePlugin({ id: 'test-veth-guests', apiVersion: 3, register: (env) => env.extend(extensionPoints.hypervisors, 'lxc', driver) }),
    definePlugin({ id: 'test-nic-hook', apiVersion: 3, register: (env) => env.extend(extensionPoints.nicPlugHooks, 'test', hook) }),
  ];
  const kernel = await createTestKernel(t, { plugins });
  t.deepEqual(kernel.plugins.failed, []);
  await kernel.guests.create('lxc', { hostname: 'x' }, { vmid: 990004, caller: ROOT_CALLER });
  await kernel.guests.start(990004, { caller: ROOT_CALLER });
  t.is(await master(host), bridge);
  await kernel.guests.stop(990004, { caller: ROOT_CALLER });
  t.is(await master(host), undefined);
  t.deepEqual(calls, ['beforePlug vnetdemo', 'afterPlug net0 ' + host, 'afterUnplug net0']);
});

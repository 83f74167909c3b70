/**
 * The `network` plugin's own SDN wiring, for real in a network namespace standing for the
 * node: the zones, vnets and subnets written to the kernel's config store (`sdn/*.cfg`) are
 * applied through `kernel.get(sdnServiceRef)`, and the plugin's NIC hook sends a NIC with
 * `bridge=<vnet>` into the vnet's bridge with its DHCP mapping; without SDN files nothing
 * changes and a NIC on a host bridge is plugged as before. The NIC is plugged by the plugin's
 * hook (`resolveBridge`, `beforePlug`) and core's `LinuxBridgeNicPlugger`, the two pieces the
 * kernel's `ctx.network.plug` runs, here pointed at the namespace (commands through
 * `ip netns exec`, `/sys/class/net` of a sysfs mounted from inside it).
 */
import test, { type ExecutionContext } from 'ava';
import { readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  extensionPoints,
  LinuxBridgeNicPlugger,
  MemoryLogger,
  type CommandRunner,
  type GuestNic,
  type NicPlugHook,
  type RunOptions,
} from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { netns, runner, sh } from './sdnNetnsSupport.js';
import { networkPlugin, readLinks, sdnServiceRef } from '../src/index.js';

const real = realTest(
  test,
  process.getuid?.() === 0 && hasProgram('ip') && hasProgram('bridge') && hasProgram('nsenter') && hasProgram('dnsmasq'),
  'root with iproute2 (ip, bridge), nsenter and dnsmasq',
);

/** Runs every command inside namespace `ns`. */
function netnsRunner(ns: string): CommandRunner {
  return { run: (argv: readonly string[], options?: RunOptions) => runner.run(['ip', 'netns', 'exec', ns, ...argv], options) };
}

/**
 * A node namespace with a plain host bridge `vmbr0` and a guest NIC's host end `tap990001i0`
 * (a veth), and its `/sys/class/net` as seen from inside (a sysfs mounted from the namespace).
 */
async function nodeNamespace(t: ExecutionContext) {
  const ns = await netns(t, `sdnw${Math.floor(Math.random() * 0xffffff).toString(16)}`);
  await sh('ip', '-n', ns, 'link', 'add', 'name', 'vmbr0', 'type', 'bridge');
  await sh('ip', '-n', ns, 'link', 'set', 'dev', 'vmbr0', 'up');
  await sh('ip', '-n', ns, 'link', 'add', 'name', 'tap990001i0', 'type', 'veth', 'peer', 'name', 'guest0');
  const sys = await makeTempDir(t, 'corral-sdnw-sys-');
  await sh('nsenter', `--net=/run/netns/${ns}`, 'mount', '-t', 'sysfs', 'sysfs', sys);
  t.teardown(() => runner.run(['umount', sys], { okExitCodes: [0, 1, 32] }));
  const sysClassNet = join(sys, 'class', 'net');
  const master = (ifname: string) => readlink(join(sysClassNet, ifname, 'master')).then(basename, () => undefined);
  return { ns, sysClassNet, master, plugger: new LinuxBridgeNicPlugger({ sysClassNet }), ctx: { node: 'testnode', runner: netnsRunner(ns), log: new MemoryLogger() } };
}

/** Core's plug order for one hook: its bridge, its `beforePlug`, then the plugger. */
async function plugWith(hook: NicPlugHook, node: Awaited<ReturnType<typeof nodeNamespace>>, nic: GuestNic) {
  const bridge = (await hook.resolveBridge?.(node.ctx, nic)) || nic.bridge;
  const resolved = { ...nic, bridge };
  const changed = (await hook.beforePlug?.(node.ctx, resolved)) || resolved;
  return node.plugger.plug(node.ctx, changed);
}

const nic: GuestNic = { vmid: 990001, key: 'net0', kind: 'tap', ifname: 'tap990001i0', bridge: 'vmbr0', mac: 'BC:24:11:00:00:01' };

real.serial('without sdn files the plugin applies nothing and a NIC on a host bridge is plugged as before', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [networkPlugin] });
  t.deepEqual(kernel.plugins.failed, []);
  const node = await nodeNamespace(t);
  const sdn = kernel.get(sdnServiceRef);
  t.is(await sdn.config(), undefined);
  const before = await readLinks({ node: 'testnode', runner, log: new MemoryLogger(), netns: node.ns });
  t.deepEqual(await sdn.apply({ netns: node.ns }), []);
  t.deepEqual(await readLinks({ node: 'testnode', runner, log: new MemoryLogger(), netns: node.ns }), before);
  const hook = kernel.extensions(extensionPoints.nicPlugHooks).get('sdn');
  t.truthy(hook, 'the plugin registers its NIC hook as `sdn`');
  t.is(await hook!.resolveBridge!(node.ctx, nic), undefined);
  t.deepEqual(await plugWith(hook!, node, nic), { ifname: 'tap990001i0', bridge: 'vmbr0' });
  t.is(await node.master('tap990001i0'), 'vmbr0');
});

real.serial('sdn files in the config store: apply builds the vnet, a NIC with bridge=<vnet> lands in it with its DHCP address', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [networkPlugin] });
  const node = await nodeNamespace(t);
  const sdn = kernel.get(sdnServiceRef);
  await kernel.config.write('sdn/zones.cfg', 'simple: wz\n\tdhcp dnsmasq\n\tipam pve\n\n');
  await kernel.config.write('sdn/vnets.cfg', 'vnet: wvnet\n\tzone wz\n\n');
  await kernel.config.write('sdn/subnets.cfg', 'subnet: wz-10.253.0.0-24\n\tvnet wvnet\n\tdhcp-range start-address=10.253.0.100,end-address=10.253.0.110\n\tgateway 10.253.0.1\n\n');
  // Stops the zone's dnsmasq however the test ends: the zone without `dhcp`, applied.
  t.teardown(async () => {
    await kernel.config.write('sdn/zones.cfg', 'simple: wz\n\n');
    await sdn.apply({ netns: node.ns });
  });
  t.deepEqual(await sdn.apply({ netns: node.ns }), [{ vnet: 'wvnet', bridge: 'wvnet', up: true }]);
  t.deepEqual(await sdn.status({ netns: node.ns }), [{ vnet: 'wvnet', bridge: 'wvnet', up: true }]);

  const hook = kernel.extensions(extensionPoints.nicPlugHooks).get('sdn')!;
  // A NIC on the plain host bridge is still left alone.
  t.is(await hook.resolveBridge!(node.ctx, nic), undefined);
  const ports = await plugWith(hook, node, { ...nic, bridge: 'wvnet' });
  t.deepEqual(ports, { ifname: 'tap990001i0', bridge: 'wvnet' });
  t.is(await node.master('tap990001i0'), 'wvnet');
  const ipam = await readFile(join(kernel.dataDir, 'sdn-local', 'pve-ipam-state.json'), 'utf8');
  t.regex(ipam, /"10\.253\.0\.100":\{[^}]*"mac":"BC:24:11:00:00:01"/i);
  t.true(node.ctx.log.lines.some((l) => /net0: SDN DHCP address 10\.253\.0\.100 for BC:24:11:00:00:01 on vnet wvnet/.test(l.message)));
});

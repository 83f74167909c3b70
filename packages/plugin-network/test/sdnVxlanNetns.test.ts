/**
 * A VXLAN zone for real: two network namespaces stand for two nodes joined by a veth link
 * (each with its own address), the zone lists both as peers, the SDN service applies the vnet
 * inside each node's namespace, and a guest namespace on each node (its NIC a veth named like
 * a tap, in the vnet's bridge) pings the other across the VXLAN tunnel.
 */
import test, { type ExecutionContext } from 'ava';
import { MemoryLogger, type CommandRunner, type NetworkContext, type RunOptions } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { guestNetns, isReadCommand, netns, runner, sh } from './sdnNetnsSupport.js';
import { parseVnetsCfg, parseZonesCfg, readLinks, readVxlanRemotes, SdnService, VxlanZoneDriver } from '../src/index.js';

const real = realTest(test, process.getuid?.() === 0 && hasProgram('ip') && hasProgram('bridge') && hasProgram('busybox'), 'root with iproute2 (ip, bridge) and busybox (ping)');

/** A runner that records every argv it passes on. */
class Recorder implements CommandRunner {
  readonly argvs: string[][] = [];
  run(argv: readonly string[], options?: RunOptions) {
    this.argvs.push([...argv]);
    return runner.run(argv, options);
  }
}

/** A guest: a namespace whose eth0 is a veth whose host end (`tap<n>i0`) is in `bridge` of `node`. */
const guest = (t: ExecutionContext, node: string, bridge: string, name: string, address: string) =>
  guestNetns(t, { node, bridge, name, hostIf: `tap${name.slice(-6)}i0`, address, mtu: 1450 });

real.serial('two nodes in namespaces, a VXLAN vnet applied on each, guests ping across; a second apply changes nothing', async (t) => {
  const id = Math.floor(Math.random() * 0xffff).toString(16);
  const vni = 10_000 + Math.floor(Math.random() * 100_000);
  const nodeA = await netns(t, `sdna${id}`);
  const nodeB = await netns(t, `sdnb${id}`);
  // The underlay: a veth between the two nodes, 10.250.0.1 and 10.250.0.2.
  await sh('ip', 'link', 'add', 'name', 'ul0', 'netns', nodeA, 'type', 'veth', 'peer', 'name', 'ul0', 'netns', nodeB);
  for (const [ns, address] of [[nodeA, '10.250.0.1/24'], [nodeB, '10.250.0.2/24']] as const) {
    await sh('ip', '-n', ns, 'addr', 'add', address, 'dev', 'ul0');
    await sh('ip', '-n', ns, 'link', 'set', 'dev', 'ul0', 'up');
  }
  const vnet = `vn${id}`;
  const config = {
    zones: parseZonesCfg('vxlan: vxz\n\tpeers 10.250.0.1,10.250.0.2\n\tipam pve\n\n'),
    vnets: parseVnetsCfg(`vnet: ${vnet}\n\tzone vxz\n\ttag ${vni}\n\n`),
    subnets: [],
  };
  const sdn = new SdnService(new Map([['vxlan', new VxlanZoneDriver()]]));
  const ctx = (node: string, ns: string, r: CommandRunner = runner): NetworkContext => ({ node, netns: ns, runner: r, log: new MemoryLogger() });

  t.deepEqual(await sdn.apply(ctx('a', nodeA), config), [{ vnet, bridge: vnet, up: true }]);
  t.deepEqual(await sdn.apply(ctx('b', nodeB), config), [{ vnet, bridge: vnet, up: true }]);

  // What Proxmox's vxlan zone gives: vxlan_<vnet> with VNI = tag, port 4789, MTU 1450, the other node as its remote.
  const links = await readLinks(ctx('a', nodeA));
  t.like(links.get(`vxlan_${vnet}`), { kind: 'vxlan', vxlan: { id: vni, port: 4789 }, mtu: 1450, master: vnet, up: true });
  t.like(links.get(vnet), { kind: 'bridge', mtu: 1450, up: true });
  t.deepEqual(await readVxlanRemotes(ctx('a', nodeA), `vxlan_${vnet}`), ['10.250.0.2']);
  t.deepEqual(await readVxlanRemotes(ctx('b', nodeB), `vxlan_${vnet}`), ['10.250.0.1']);

  const guestA = await guest(t, nodeA, vnet, `sdnga${id}`, '192.168.250.1/24');
  await guest(t, nodeB, vnet, `sdngb${id}`, '192.168.250.2/24');
  const ping = await runner.run(['ip', 'netns', 'exec', guestA, 'busybox', 'ping', '-c', '3', '-W', '5', '192.168.250.2'], { timeoutMs: 60_000, okExitCodes: [0, 1] });
  t.is(ping.exitCode, 0, `ping across the VXLAN failed:\n${ping.stdout}${ping.stderr}`);
  t.regex(ping.stdout, /3 packets received/);

  // Idempotent: applying the same config again only reads.
  const recorder = new Recorder();
  await sdn.apply(ctx('a', nodeA, recorder), config);
  t.deepEqual(recorder.argvs.filter((argv) => !isReadCommand(argv)), []);

  // The zone's vnet removed from the config: its devices go, the guest's port stays on the node.
  await sdn.apply(ctx('a', nodeA), { ...config, vnets: [] });
  const after = await readLinks(ctx('a', nodeA));
  t.false(after.has(vnet));
  t.false(after.has(`vxlan_${vnet}`));
  t.true(after.has(`tap${`sdnga${id}`.slice(-6)}i0`));
});

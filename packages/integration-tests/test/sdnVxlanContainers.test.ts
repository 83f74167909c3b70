/**
 * Proxmox SDN across two nodes with real containers: two network namespaces stand for two
 * nodes joined by a veth underlay (10.249.0.1 and .2), plugin-network's SDN service applies a
 * VXLAN zone listing both as peers inside each, and a real LXC container (busybox, started by
 * Corral's LXC driver) on each node is attached to its node's vnet bridge; one container pings
 * the other across the VXLAN tunnel.
 *
 * LXC creates a container's veth in the host namespace and Corral plugs it into a bridge
 * there (a staging bridge here); the test then moves the host end into the node's namespace
 * and makes it a port of the vnet bridge, as the node's own LXC would have plugged it.
 */
import test, { type ExecutionContext } from 'ava';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { createKernel, extensionPoints, MemoryLogger, NodeCommandRunner, ROOT_CALLER } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { networkPlugin, parseVnetsCfg, parseZonesCfg, SdnService } from '@corral/plugin-network';
import { busyboxTemplate, openTestNode } from './support/nodeKernel.js';

const runner = new NodeCommandRunner();
const sh = (...argv: string[]) => runner.run(argv, { timeoutMs: 30_000 });
/** LXC as root; where newuidmap is installed LXC maps ids through it and needs root's range in /etc/subuid. */
const idsMapped = !hasProgram('newuidmap') || (existsSync('/etc/subuid') && /^root:100000:65536$/m.test(readFileSync('/etc/subuid', 'utf8')));
const real = realTest(
  test,
  process.getuid?.() === 0 && hasProgram('lxc-start') && hasProgram('ip') && hasProgram('bridge') && idsMapped,
  'root with LXC (lxc-start), iproute2 and, with newuidmap, root:100000:65536 in /etc/subuid',
);

async function netns(t: ExecutionContext, name: string): Promise<string> {
  await sh('ip', 'netns', 'add', name);
  t.teardown(() => runner.run(['ip', 'netns', 'del', name], { okExitCodes: [0, 1] }));
  await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

real.serial('two nodes joined by a VXLAN vnet: a real container on each pings the other across the tunnel', async (t) => {
  const id = Math.floor(Math.random() * 0xfff).toString(16);
  const vni = 20_000 + Math.floor(Math.random() * 100_000);
  // The two nodes and their underlay.
  const nodes = [await netns(t, `sdnca${id}`), await netns(t, `sdncb${id}`)] as const;
  await sh('ip', 'link', 'add', 'name', 'ul0', 'netns', nodes[0], 'type', 'veth', 'peer', 'name', 'ul0', 'netns', nodes[1]);
  for (const [i, ns] of nodes.entries()) {
    await sh('ip', '-n', ns, 'addr', 'add', `10.249.0.${i + 1}/24`, 'dev', 'ul0');
    await sh('ip', '-n', ns, 'link', 'set', 'dev', 'ul0', 'up');
  }
  // The SDN config, applied on each node by the zone drivers the network plugin registers.
  const vnet = `ct${id}`;
  const config = {
    zones: parseZonesCfg('vxlan: ctz\n\tpeers 10.249.0.1,10.249.0.2\n\tipam pve\n\n'),
    vnets: parseVnetsCfg(`vnet: ${vnet}\n\tzone ctz\n\ttag ${vni}\n\n`),
    subnets: [],
  };
  const { base, kernel } = await openTestNode(t, 'corral-sdn-ct-');
  // The containers' root (uid 100000 where ids are mapped) passes through the node's directory.
  await chmod(base, 0o711);
  const sdnKernel = await createKernel({ node: 'sdnnode', dataDir: join(base, 'sdn-data'), runDir: join(base, 'sdn-run'), plugins: [networkPlugin] });
  t.teardown(() => sdnKernel.dispose());
  const sdn = new SdnService(sdnKernel.extensions(extensionPoints.networkZones));
  for (const [i, ns] of nodes.entries()) {
    t.deepEqual(await sdn.apply({ node: `node${i}`, netns: ns, runner, log: new MemoryLogger() }, config), [{ vnet, bridge: vnet, up: true }]);
  }

  // A staging bridge in the host namespace, where Corral's LXC driver plugs the veths at start.
  const staging = `sdnstg${id}`;
  await sh('ip', 'link', 'add', 'name', staging, 'type', 'bridge');
  t.teardown(() => runner.run(['ip', 'link', 'del', 'dev', staging], { okExitCodes: [0, 1] }));
  await sh('ip', 'link', 'set', 'dev', staging, 'up');
  await kernel.storage.upload({ storage: 'local', content: 'vztmpl', filename: 'busybox.tar.gz', stream: createReadStream(busyboxTemplate()) });

  const vmids = [300000 + Math.floor(Math.random() * 300000)];
  vmids.push(vmids[0]! + 1);
  const ips = ['192.168.249.1', '192.168.249.2'];
  for (const [i, vmid] of vmids.entries()) {
    await kernel.guests.create(
      'lxc',
      { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:0.05', memory: 64, net0: `name=eth0,bridge=${staging},ip=${ips[i]}/24,mtu=1450` },
      { caller: ROOT_CALLER, vmid },
    );
    await kernel.guests.start(vmid);
    // The container's host end joins its node: moved into the node's namespace, a port of the vnet bridge.
    await sh('ip', 'link', 'set', 'dev', `veth${vmid}i0`, 'netns', nodes[i]!);
    await sh('ip', '-n', nodes[i]!, 'link', 'set', 'dev', `veth${vmid}i0`, 'master', vnet, 'up');
  }
  const ping = await kernel.guests.exec(vmids[0]!, ['ping', '-c', '3', '-W', '5', ips[1]!]);
  t.is(ping.exitCode, 0, `ping across the VXLAN failed:\n${ping.stdout}${ping.stderr}`);
  t.regex(ping.stdout, /3 packets received/);
  // The tunnel carried it: node A's VXLAN device counted the packets it sent to node B.
  const stats = await sh('ip', '-n', nodes[0], '-j', '-s', 'link', 'show', 'dev', `vxlan_${vnet}`);
  t.true((JSON.parse(stats.stdout) as { stats64: { tx: { packets: number } } }[])[0]!.stats64.tx.packets >= 3);
  for (const vmid of vmids) {
    await kernel.guests.stop(vmid);
    await kernel.guests.destroy(vmid);
  }
});

import test from 'ava';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CorralError, MemoryLogger, NodeCommandRunner, createKernel, extensionPoints, silentLogger, type GuestNic, type GuestNicPorts, type Kernel, type NicHookContext, type NicPlugHook } from '@corral/core';
import { createTestKernel, hasProgram, realTest, runToolOk } from '@corral/core/testing';
import { NFT_PROGRAM } from '../src/nft/NftablesBackend.js';
import { createFirewallPlugin, firewallPlugin } from '../src/firewallPlugin.js';
import { FirewallPlugError } from '../src/service/FirewallPlugError.js';
import { firewallServiceRef } from '../src/service/FirewallService.js';
import { createTrafficLab } from './support/trafficLab.js';

const real = realTest(
  test,
  process.getuid?.() === 0 && hasProgram(NFT_PROGRAM) && hasProgram('busybox') && hasProgram('ip'),
  'needs root, nft (nftables), ip (iproute2) and busybox (busybox-static)'
);

const HOOK_CTX: NicHookContext = { node: 'testnode', runner: new NodeCommandRunner(), log: silentLogger };

/** NIC net0 of guest `vmid` as a hypervisor would plug it with `firewall=1`, and the ports core's plugger builds. */
function firewallNic(vmid: number): { nic: GuestNic; ports: GuestNicPorts } {
  return {
    nic: { vmid, key: 'net0', kind: 'tap', ifname: `tap${vmid}i0`, bridge: 'vmbr0', firewall: true },
    ports: { ifname: `tap${vmid}i0`, bridge: 'vmbr0', firewallBridge: `fwbr${vmid}i0`, firewallLink: `fwln${vmid}i0`, firewallPeer: `fwpr${vmid}p0` },
  };
}

/** The hook the plugin registered, as core's plug path finds it. */
function hookOf(kernel: Kernel): NicPlugHook {
  const hook = kernel.extensions(extensionPoints.nicPlugHooks).get('firewall');
  if (!hook) throw new Error('the firewall plugin registered no NIC plug hook');
  return hook;
}

test('missing firewall files are Proxmox defaults: no cluster.fw, nothing filtered', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [firewallPlugin] });
  const { ruleset } = await kernel.get(firewallServiceRef).compile();
  t.false(ruleset.enabled);
  t.deepEqual(ruleset.guests, []);
});

test('a guest file that does not resolve fails the plug with a coded error naming guest and NIC, and the NIC is forgotten', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [firewallPlugin] });
  await kernel.config.write('firewall/cluster.fw', '[OPTIONS]\nenable: 1\n');
  await kernel.config.write('firewall/100.fw', '[OPTIONS]\nenable: 1\n\n[RULES]\nIN ACCEPT -source nosuchalias\n');
  const { nic, ports } = firewallNic(100);
  const err = await t.throwsAsync(hookOf(kernel).afterPlug!(HOOK_CTX, nic, ports), { instanceOf: FirewallPlugError });
  t.true(err instanceof CorralError && err.code !== 'CORRAL_ERR_INTERNAL', `a cause's code: ${err?.message}`);
  t.regex(err!.message, /guest 100 net0: .*nosuchalias/);
  // The undo core runs after a failed plug changes nothing and throws nothing.
  await hookOf(kernel).afterUnplug!(HOOK_CTX, nic);
  await kernel.config.write('firewall/100.fw', '[OPTIONS]\nenable: 1\n');
  t.deepEqual((await kernel.get(firewallServiceRef).compile()).ruleset.guests, [], 'the failed NIC is not part of the rule set');
});

real.serial('plugging a firewall=1 NIC applies its <vmid>.fw from the config store; unplugging removes the guest chains', async (t) => {
  const lab = await createTrafficLab([100, 101], { tcp: [7070, 8080], udp: [] }, { firewallBridges: true });
  t.teardown(() => lab.dispose());
  const kernel = await createTestKernel(t, { plugins: [createFirewallPlugin({ netns: lab.hostNetns })] });
  await kernel.config.write('firewall/cluster.fw', '[OPTIONS]\nenable: 1\npolicy_in: ACCEPT\n');
  await kernel.config.write('firewall/100.fw', '[OPTIONS]\nenable: 1\n\n[RULES]\nIN ACCEPT -p tcp -dport 8080\n');
  const hook = hookOf(kernel);
  const { nic, ports } = firewallNic(100);
  t.is(await lab.tcp(101, 100, 7070, 'open'), 'open', 'not filtered before the plug');

  await hook.afterPlug!(HOOK_CTX, nic, ports);
  t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'IN ACCEPT tcp 8080');
  t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent', 'policy_in DROP');
  const compiled = await kernel.get(firewallServiceRef).compile();
  t.deepEqual(compiled.ruleset.guests.map((g) => [g.vmid, g.ports]), [[100, ['tap100i0']]]);
  t.true(compiled.nft.includes('guest-100-in'), 'compile-only shows the guest chain');

  await hook.afterUnplug!(HOOK_CTX, nic);
  const listed = await runToolOk(['ip', 'netns', 'exec', lab.hostNetns, NFT_PROGRAM, '-j', 'list', 'chains']);
  const chains = (JSON.parse(listed.stdout) as { nftables: Array<{ chain?: { name: string } }> }).nftables.flatMap((o) => (o.chain ? [o.chain.name] : []));
  t.true(chains.length > 0, 'the node tables stay');
  t.deepEqual(chains.filter((c) => c.startsWith('guest-100-')), [], 'the guest chains are gone');
  t.is(await lab.tcp(101, 100, 7070, 'open'), 'open', 'not filtered after the unplug');

  await kernel.get(firewallServiceRef).reload();
  t.is(await lab.tcp(101, 100, 7070, 'open'), 'open', 'a reload does not bring the unplugged guest back');
});

real.serial('after a kernel restart, reload filters the running guests from their configs (firewall=1, port present) without plug calls', async (t) => {
  const lab = await createTrafficLab([100, 101], { tcp: [7070, 8080], udp: [] }, { firewallBridges: true });
  t.teardown(() => lab.dispose());
  const plugins = [createFirewallPlugin({ netns: lab.hostNetns })];
  const first = await createTestKernel(undefined, { plugins });
  t.teardown(() => rm(first.dir, { recursive: true, force: true }));
  await first.config.write('firewall/cluster.fw', '[OPTIONS]\nenable: 1\npolicy_in: ACCEPT\n');
  await first.config.write('firewall/100.fw', '[OPTIONS]\nenable: 1\n\n[RULES]\nIN ACCEPT -p tcp -dport 8080\n');
  await first.config.write('firewall/102.fw', '[OPTIONS]\nenable: 1\n');
  // The guest's real MAC: the config's MAC feeds the (default on) macfilter.
  const link = await runToolOk(['ip', '-n', lab.guests.get(100)!.netns, '-j', 'link', 'show', 'eth0']);
  const mac = (JSON.parse(link.stdout) as Array<{ address: string }>)[0]!.address.toUpperCase();
  await first.config.write('nodes/testnode/qemu-server/100.conf', `memory: 512\nnet0: virtio=${mac},bridge=vmbr0,firewall=1\n`);
  await first.config.write('nodes/testnode/lxc/101.conf', 'memory: 512\nnet0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,type=veth\n');
  // A stopped guest: firewall=1 but no port on the host.
  await first.config.write('nodes/testnode/qemu-server/102.conf', 'memory: 512\nnet0: virtio=BC:24:11:00:01:02,bridge=vmbr0,firewall=1\n');
  // A NIC value that does not parse: left out with a warning naming the guest and key.
  await first.config.write('nodes/testnode/qemu-server/103.conf', 'memory: 512\nnet0: virtio=not-a-mac,bridge=vmbr0,firewall=1\n');
  const { nic, ports } = firewallNic(100);
  await hookOf(first).afterPlug!(HOOK_CTX, nic, ports);
  t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent', 'filtered through the first kernel');
  await first.dispose();

  const logger = new MemoryLogger();
  const second = await createKernel({ node: 'testnode', dataDir: join(first.dir, 'data'), runDir: join(first.dir, 'run'), logger, plugins });
  t.teardown(() => second.dispose());
  const service = second.get(firewallServiceRef);
  await service.reload();
  t.true(
    logger.lines.some((l) => l.level === 'warn' && /guest 103 net0 is not filtered: its value does not parse/.test(l.message)),
    JSON.stringify(logger.lines.filter((l) => l.level === 'warn')),
  );
  t.is(await lab.tcp(101, 100, 8080, 'open'), 'open', 'IN ACCEPT tcp 8080 after the reload');
  t.is(await lab.tcp(101, 100, 7070, 'silent'), 'silent', 'policy_in DROP still holds after the reload');
  const { ruleset } = await service.compile();
  t.deepEqual(
    ruleset.guests.map((g) => [g.vmid, g.ports]),
    [[100, ['tap100i0']]],
    'only the running guest with firewall=1: not 101 (no firewall=1), not 102 (no port)',
  );
});

/**
 * IPAM and DHCP for real: a simple zone with `dhcp dnsmasq` applied in a namespace standing
 * for a node runs dnsmasq there with Proxmox's files; the `pve` IPAM hands out addresses from
 * the subnet's DHCP range; a guest namespace with a known MAC gets its address from dnsmasq
 * (busybox udhcpc), a guest the IPAM does not know gets none until it is registered.
 */
import test, { type ExecutionContext } from 'ava';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryLogger, type NetworkContext } from '@corral/core';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { guestNetns, netns, runner } from './sdnNetnsSupport.js';
import { createSdnNicHook, DnsmasqDhcp, parseSubnetsCfg, parseVnetsCfg, parseZonesCfg, PveIpam, SdnService, SimpleZoneDriver, type SdnConfig } from '../src/index.js';

const real = realTest(
  test,
  process.getuid?.() === 0 && hasProgram('ip') && hasProgram('bridge') && hasProgram('busybox') && hasProgram('dnsmasq'),
  'root with iproute2, busybox (udhcpc) and dnsmasq',
);
/** A guest namespace whose eth0 (MAC `mac`) is a veth `tap<vmid>i0` in `bridge` of `node`. */
const guest = (t: ExecutionContext, node: string, bridge: string, name: string, mac: string, vmid: number) => guestNetns(t, { node, bridge, name, hostIf: `tap${vmid}i0`, mac });

/** What busybox's DHCP client gets on the guest's eth0 (it asks 3 times, one second apart, then gives up). */
async function dhcpLease(ns: string): Promise<string | undefined> {
  const result = await runner.run(['ip', 'netns', 'exec', ns, 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', '/bin/true'], { timeoutMs: 60_000, okExitCodes: [0, 1] });
  return /lease of (\S+) obtained/.exec(result.stdout + result.stderr)?.[1];
}

real.serial('a simple zone with dhcp dnsmasq: IPAM allocates from the range, dnsmasq answers known MACs only', async (t) => {
  const dir = await makeTempDir(t, 'corral-sdn-dhcp-');
  // dnsmasq re-reads ethers after dropping root (as Proxmox's /etc/dnsmasq.d, readable by all).
  await chmod(dir, 0o755);
  const id = Math.floor(Math.random() * 0xfffff).toString(16);
  const node = await netns(t, `sdnd${id}`);
  const ipam = new PveIpam({ path: join(dir, 'pve-ipam-state.json') });
  const server = new DnsmasqDhcp({ configRoot: join(dir, 'dnsmasq.d'), leaseRoot: join(dir, 'misc'), runDir: join(dir, 'run') });
  t.teardown(() => server.stop('dz'));
  const sdn = new SdnService(new Map([['simple', new SimpleZoneDriver()]]), { dhcp: { ipam, server } });
  const config: SdnConfig = {
    zones: parseZonesCfg('simple: dz\n\tdhcp dnsmasq\n\tipam pve\n\n'),
    vnets: parseVnetsCfg('vnet: dv\n\tzone dz\n\n'),
    subnets: parseSubnetsCfg('subnet: dz-10.254.0.0-24\n\tvnet dv\n\tdhcp-range start-address=10.254.0.100,end-address=10.254.0.101\n\tgateway 10.254.0.1\n\n'),
  };
  const ctx: NetworkContext = { node: 'n1', netns: node, runner, log: new MemoryLogger() };
  await sdn.apply(ctx, config);

  // Proxmox's files.
  t.is(
    await readFile(join(dir, 'dnsmasq.d', 'dz', '10-dv.conf'), 'utf8'),
    'dhcp-range=set:dz-10.254.0.0-24,10.254.0.0,static,255.255.255.0,infinite\ndhcp-option=tag:dz-10.254.0.0-24,option:router,10.254.0.1\ninterface=dv\n',
  );
  t.regex(await readFile(join(dir, 'dnsmasq.d', 'dz', '00-default.conf'), 'utf8'), /^dhcp-ignore=tag:!known$/m);

  const known = await guest(t, node, 'dv', `sdnk${id}`, 'bc:24:11:00:00:01', 100);
  t.is(await sdn.addDhcpMapping(config, 'dv', { mac: 'bc:24:11:00:00:01', vmid: 100, hostname: 'ct100' }), '10.254.0.100');
  // Asking again for the same MAC gives the same address.
  t.is(await sdn.addDhcpMapping(config, 'dv', { mac: 'BC:24:11:00:00:01', vmid: 100 }), '10.254.0.100');
  t.deepEqual(JSON.parse(await readFile(join(dir, 'pve-ipam-state.json'), 'utf8')), {
    zones: { dz: { subnets: { '10.254.0.0/24': { ips: { '10.254.0.1': { gateway: 1 }, '10.254.0.100': { mac: 'bc:24:11:00:00:01', vmid: '100', hostname: 'ct100' } } } } } },
  });
  t.is(await readFile(join(dir, 'dnsmasq.d', 'dz', 'ethers'), 'utf8'), 'bc:24:11:00:00:01,10.254.0.100\n');
  t.is(await dhcpLease(known), '10.254.0.100');

  // A MAC the IPAM does not know gets nothing (dhcp-ignore=tag:!known) until it is registered.
  const stranger = await guest(t, node, 'dv', `sdns${id}`, 'bc:24:11:00:00:02', 101);
  t.is(await dhcpLease(stranger), undefined);
  // Registered as Proxmox does at guest start: the NIC plug hook maps the NIC's MAC before its veth is plugged.
  const hook = createSdnNicHook({ service: sdn, config: async () => config });
  const log = new MemoryLogger();
  await hook.beforePlug!({ node: 'n1', runner, log }, { vmid: 101, key: 'net0', kind: 'veth', ifname: 'veth101i0', bridge: 'dv', mac: 'bc:24:11:00:00:02' });
  t.regex(log.lines.map((l) => l.message).join('\n'), /net0: SDN DHCP address 10\.254\.0\.101 for bc:24:11:00:00:02 on vnet dv/);
  // A NIC on a bridge that is no vnet passes untouched.
  await hook.beforePlug!({ node: 'n1', runner, log }, { vmid: 102, key: 'net0', kind: 'veth', ifname: 'veth102i0', bridge: 'vmbr0', mac: 'bc:24:11:00:00:09' });
  t.is(await dhcpLease(stranger), '10.254.0.101');

  // The range is full now.
  await t.throwsAsync(sdn.addDhcpMapping(config, 'dv', { mac: 'bc:24:11:00:00:03' }), { code: 'CORRAL_ERR_CONFLICT', message: /No free IP left/ });
  // A subnet with guests cannot go; dnsmasq stops by its pid.
  await t.throwsAsync(ipam.delSubnet(config.subnets[0]!), { code: 'CORRAL_ERR_CONFLICT', message: /not empty/ });
  const pid = Number((await readFile(join(dir, 'run', 'dnsmasq.dz.pid'), 'utf8')).trim());
  await server.stop('dz');
  // Gone (or a zombie waiting for init to reap it).
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  t.true(stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')'))), stat);
});

test('a stale pid file naming a process that is no dnsmasq is not signalled', async (t) => {
  const dir = await makeTempDir(t, 'corral-sdn-dhcp-stale-');
  const server = new DnsmasqDhcp({ configRoot: join(dir, 'dnsmasq.d'), leaseRoot: join(dir, 'misc'), runDir: dir });
  // The pid of this test process (node, not dnsmasq): SIGTERM to it would end the test run.
  await writeFile(join(dir, 'dnsmasq.sz.pid'), `${process.pid}\n`);
  await server.stop('sz');
  await mkdir(join(dir, 'dnsmasq.d', 'sz'), { recursive: true });
  await server.reload('sz', { zones: {} });
  t.is(await readFile(join(dir, 'dnsmasq.sz.pid'), 'utf8'), `${process.pid}\n`, 'the pid file is left as it was');
});

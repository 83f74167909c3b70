/**
 * DHCP for SDN zones with `dhcp dnsmasq`, as Proxmox's `Dhcp/Dnsmasq.pm` runs it: one dnsmasq
 * per zone with the config directory `<configRoot>/<zone>` holding `00-default.conf` (only
 * hosts listed in `ethers` get an address: `dhcp-ignore=tag:!known`), one `10-<vnet>.conf` per
 * vnet (a `static` range per subnet, router and DNS options, `interface=<vnet>`) and `ethers`
 * (`<mac>,<ip>` lines from the IPAM). Proxmox starts it as the systemd unit `dnsmasq@<zone>`
 * with `--conf-file=/dev/null` and reloads it through D-Bus; Corral starts the same program
 * with the same files itself (`ip netns exec` in a test namespace), keeps its pid file under
 * `runDir`, re-reads `ethers` with SIGHUP and stops it by its pid.
 *
 * @packageDocumentation
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotSupportedError, UnavailableError, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import { ipv4Netmask, parseCidr } from './ipAddress.js';
import { inNetns } from './natTable.js';
import type { IpamDb } from './PveIpam.js';
import type { SdnSubnet } from './sdnConfigFiles.js';

/** Where the dnsmasq files go (Proxmox: `/etc/dnsmasq.d`, `/var/lib/misc`, `/run`). */
export interface DnsmasqPaths {
  readonly configRoot: string;
  readonly leaseRoot: string;
  readonly runDir: string;
}

/** The MTU Proxmox announces when the zone sets none. */
const DEFAULT_MTU = 1500;

/** `00-default.conf` of a zone, as `before_configure` writes it. */
export function dnsmasqDefaultConf(zone: NetworkZoneDefinition, paths: DnsmasqPaths): string {
  const mtu = zone.options.mtu ?? String(DEFAULT_MTU);
  return [
    'except-interface=lo',
    'enable-ra',
    'quiet-ra',
    'bind-dynamic',
    'no-hosts',
    `dhcp-leasefile=${join(paths.leaseRoot, `dnsmasq.${zone.id}.leases`)}`,
    `dhcp-hostsfile=${join(paths.configRoot, zone.id, 'ethers')}`,
    'dhcp-ignore=tag:!known',
    '',
    `dhcp-option=26,${mtu}`,
    `ra-param=*,mtu:${mtu},0`,
    '',
    'dhcp-option=252,"\\n"',
    '',
    'dhcp-option=vendor:MSFT,2,1i',
    '',
    'dhcp-name-match=set:wpad-ignore,wpad',
    'dhcp-ignore-names=tag:wpad-ignore',
    '',
  ].join('\n');
}

/**
 * `10-<vnet>.conf` (`configure_subnet` for each subnet of the vnet in id order, then
 * `configure_vnet`), or undefined when the vnet has no subnet (Proxmox writes no file then).
 */
export function dnsmasqVnetConf(vnet: VnetDefinition, subnets: readonly SdnSubnet[]): string | undefined {
  const lines: string[] = [];
  for (const subnet of [...subnets].filter((s) => s.vnet === vnet.id).sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const network = parseCidr(subnet.cidr)!;
    const mask = network.family === 4 ? ipv4Netmask(network.prefix) : String(network.prefix);
    lines.push(`dhcp-range=set:${subnet.id},${network.address},static,${mask},infinite`);
    const option = network.family === 6 ? 'option6' : 'option';
    if (network.family === 4 && subnet.gateway) lines.push(`dhcp-option=tag:${subnet.id},option:router,${subnet.gateway}`);
    if (subnet.dhcpDnsServer) lines.push(`dhcp-option=tag:${subnet.id},${option}:dns-server,${subnet.dhcpDnsServer}`);
  }
  if (lines.length === 0) return undefined;
  lines.push(`interface=${vnet.id}`);
  return `${lines.join('\n')}\n`;
}

/** `ethers`: one `<mac>,<ipv4>` (or `<mac>,[<ipv6>]`) line per guest address of the zone's subnets in the IPAM. */
export function dnsmasqEthers(db: IpamDb, zone: string): string {
  const lines: string[] = [];
  for (const [cidr, subnet] of Object.entries(db.zones[zone]?.subnets ?? {})) {
    const v6 = parseCidr(cidr)?.family === 6;
    for (const [ip, entry] of Object.entries(subnet.ips)) if (entry.mac) lines.push(`${entry.mac},${v6 ? `[${ip}]` : ip}`);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** The state letter of a live process (`/proc/<pid>/stat`), undefined when it is gone or a zombie. */
async function processState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === '' || state === 'Z' || state === 'X' ? undefined : state;
}

/** Runs one dnsmasq per DHCP zone of a node. */
export class DnsmasqDhcp {
  constructor(private readonly paths: DnsmasqPaths) {}

  #pidFile(zone: string): string {
    return join(this.paths.runDir, `dnsmasq.${zone}.pid`);
  }

  async #pid(zone: string): Promise<number | undefined> {
    const text = await readFile(this.#pidFile(zone), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    // WARNING: a stale pid file may name a pid reused by another program; signal only a dnsmasq.
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'dnsmasq') return undefined;
    return (await processState(pid)) === undefined ? undefined : pid;
  }

  /**
   * Writes the zone's files (dropping `10-*.conf` of vnets gone) and restarts its dnsmasq, as
   * Proxmox's `before_configure` / `configure_*` / `after_configure` do.
   *
   * @throws NotSupportedError when the zone's `dhcp` is not `dnsmasq`; CommandFailedError
   *   (or NotFoundError, program `dnsmasq`) when dnsmasq does not start.
   */
  async configure(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], subnets: readonly SdnSubnet[], db: IpamDb): Promise<void> {
    if (zone.options.dhcp !== 'dnsmasq') throw new NotSupportedError(`dhcp ${zone.options.dhcp}`, `zone '${zone.id}': DHCP backend '${zone.options.dhcp}' is not supported (dnsmasq is)`);
    const dir = join(this.paths.configRoot, zone.id);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await mkdir(this.paths.leaseRoot, { recursive: true });
    await mkdir(this.paths.runDir, { recursive: true });
    await writeFile(join(dir, '00-default.conf'), dnsmasqDefaultConf(zone, this.paths));
    for (const file of await readdir(dir)) if (/^10-.*\.conf$/.test(file)) await rm(join(dir, file));
    for (const vnet of [...vnets].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const conf = dnsmasqVnetConf(vnet, subnets.filter((s) => s.zone === zone.id));
      if (conf) await writeFile(join(dir, `10-${vnet.id}.conf`), conf);
    }
    await writeFile(join(dir, 'ethers'), dnsmasqEthers(db, zone.id), { mode: 0o644 });
    await this.stop(zone.id);
    const argv = ['dnsmasq', '--conf-file=/dev/null', `--conf-dir=${dir},*.conf`, `--pid-file=${this.#pidFile(zone.id)}`];
    await ctx.runner.run(inNetns(ctx, argv), { timeoutMs: 30_000 });
  }

  /** Rewrites the zone's `ethers` from the IPAM and makes dnsmasq re-read it (SIGHUP). */
  async reload(zone: string, db: IpamDb): Promise<void> {
    await writeFile(join(this.paths.configRoot, zone, 'ethers'), dnsmasqEthers(db, zone), { mode: 0o644 });
    const pid = await this.#pid(zone);
    if (pid !== undefined) process.kill(pid, 'SIGHUP');
  }

  /**
   * Stops the zone's dnsmasq (SIGTERM to the pid in its pid file, when that pid is still a
   * dnsmasq) and waits until it is gone: SIGKILL after 5 s, and after 5 s more
   * `UnavailableError` naming the pid (a process stuck in the kernel). Nothing running is not
   * an error.
   */
  async stop(zone: string): Promise<void> {
    const pid = await this.#pid(zone);
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    // dnsmasq exits at once on SIGTERM; wait for that (a zombie counts as gone), then SIGKILL.
    for (let i = 0; (await processState(pid)) !== undefined; i++) {
      if (i === 250) process.kill(pid, 'SIGKILL');
      if (i === 500) throw new UnavailableError(`dnsmasq:${zone}`, `dnsmasq (pid ${pid}) of zone '${zone}' did not exit 5 s after SIGKILL`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await rm(this.#pidFile(zone), { force: true });
  }
}

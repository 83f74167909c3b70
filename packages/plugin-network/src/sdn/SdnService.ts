/**
 * The SDN facade an embedder calls on each node: reads the cluster's `sdn/*.cfg`, checks them
 * against each other and applies them through the registered zone drivers.
 *
 * ```ts
 * const sdn = new SdnService(kernel.extensions(extensionPoints.networkZones));
 * const config = await readSdnConfig('/etc/pve/sdn');
 * await sdn.apply({ node: 'pve1', runner, log }, config);
 * ```
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InvalidConfigError,
  NotSupportedError,
  splitList,
  type NetworkContext,
  type NetworkZoneDefinition,
  type NetworkZoneDriver,
  type VnetDefinition,
  type VnetStatus,
} from '@corral/core';
import { applyDevices } from './applyDevices.js';
import type { DnsmasqDhcp } from './DnsmasqDhcp.js';
import type { IpamGuest, PveIpam } from './PveIpam.js';
import type { DeviceSpec } from './deviceSpec.js';
import { readLinks } from './linkState.js';
import { parseSubnetsCfg, parseVnetsCfg, parseZonesCfg, type SdnConfig } from './sdnConfigFiles.js';
import { isPlannedZoneDriver, vnetStatuses } from './zones/deviceZoneDriver.js';

/** A zone of the config with its driver and its vnets (subnets attached), as it applies on one node. */
export interface ResolvedZone {
  readonly zone: NetworkZoneDefinition;
  readonly driver: NetworkZoneDriver;
  readonly vnets: readonly VnetDefinition[];
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/**
 * Reads `zones.cfg`, `vnets.cfg` and `subnets.cfg` from `dir` (Proxmox's `/etc/pve/sdn`); a
 * missing file is an empty one.
 *
 * @throws ParseError naming the file, line and option (see `parseZonesCfg` and its siblings).
 */
export async function readSdnConfig(dir: string): Promise<SdnConfig> {
  const [zones, vnets, subnets] = await Promise.all(['zones.cfg', 'vnets.cfg', 'subnets.cfg'].map((f) => readOptional(join(dir, f))));
  return {
    zones: parseZonesCfg(zones!, join(dir, 'zones.cfg')),
    vnets: parseVnetsCfg(vnets!, join(dir, 'vnets.cfg')),
    subnets: parseSubnetsCfg(subnets!, join(dir, 'subnets.cfg')),
  };
}

/** Options of {@link SdnService}. */
export interface SdnServiceOptions {
  /** DHCP for zones with `dhcp dnsmasq`: the IPAM (`ipam pve`) and the dnsmasq runner. Absent: such zones get no DHCP. */
  readonly dhcp?: { readonly ipam: PveIpam; readonly server: DnsmasqDhcp };
}

/** Applies Proxmox SDN configs on a node through zone drivers (the `networkZones` extension point). */
export class SdnService {
  /** @param drivers - Zone drivers by zone type (`kernel.extensions(extensionPoints.networkZones)`). */
  constructor(
    private readonly drivers: ReadonlyMap<string, NetworkZoneDriver>,
    private readonly options: SdnServiceOptions = {},
  ) {}

  /**
   * The zones that apply on `node` (a zone with `nodes` applies only on those), each with its
   * driver and its vnets, every subnet attached to its vnet, all validated by their driver.
   *
   * @throws InvalidConfigError: a vnet naming an unknown zone (key `zone`), a subnet naming an
   *   unknown vnet (key `vnet`) or a vnet of another zone, whatever a driver's `validate`
   *   throws. NotSupportedError (operation `zone type <type>`) when no driver has the type.
   */
  resolve(config: SdnConfig, node: string): ResolvedZone[] {
    const zones = new Map(config.zones.map((z) => [z.id, z]));
    const vnets = new Map(config.vnets.map((v) => [v.id, v]));
    for (const vnet of config.vnets) {
      if (!zones.has(vnet.zone)) throw new InvalidConfigError('zone', vnet.zone, `vnet '${vnet.id}': zone '${vnet.zone}' does not exist`);
    }
    for (const subnet of config.subnets) {
      const vnet = vnets.get(subnet.vnet);
      if (!vnet) throw new InvalidConfigError('vnet', subnet.vnet, `subnet '${subnet.id}': vnet '${subnet.vnet}' does not exist`);
      if (vnet.zone !== subnet.zone) throw new InvalidConfigError('vnet', subnet.vnet, `subnet '${subnet.id}' is in zone '${subnet.zone}' but vnet '${vnet.id}' is in zone '${vnet.zone}'`);
    }
    const out: ResolvedZone[] = [];
    for (const zone of config.zones) {
      const nodes = zone.options.nodes;
      if (nodes !== undefined && !splitList(nodes).includes(node)) continue;
      const driver = this.drivers.get(zone.type);
      if (!driver) throw new NotSupportedError(`zone type ${zone.type}`, `zone '${zone.id}': no driver for zone type '${zone.type}' (have: ${[...this.drivers.keys()].join(', ') || 'none'})`);
      const zoneVnets = config.vnets
        .filter((v) => v.zone === zone.id)
        .map((v) => ({ ...v, subnets: config.subnets.filter((s) => s.vnet === v.id).map((s) => ({ cidr: s.cidr, ...(s.gateway ? { gateway: s.gateway } : {}), ...(s.snat ? { snat: true } : {}) })) }));
      driver.validate(zone, zoneVnets);
      out.push({ zone, driver, vnets: zoneVnets });
    }
    return out;
  }

  /**
   * Converges the node (`ctx.netns` for a test namespace) to `config`. When every zone's driver
   * can plan (Corral's own drivers), all zones apply as one atomic change (see `applyDevices`):
   * devices of zones no longer in the config, or not for this node, are removed, and a failure
   * anywhere leaves every device as it was. With a third-party driver, zones apply one after
   * the other through their drivers' `apply` (each as atomic as that driver makes it). Then,
   * with {@link SdnServiceOptions.dhcp}, zones with `dhcp` get their subnets registered in the
   * IPAM and their dnsmasq (re)started; the dnsmasq of a zone without `dhcp` is stopped.
   *
   * @returns The status of every vnet that applies on this node.
   * @throws what {@link SdnService.resolve} throws; NotSupportedError from a driver whose zone
   *   needs what the kernel lacks; ConflictError / CommandFailedError from applying (after the
   *   rollback).
   */
  async apply(ctx: NetworkContext, config: SdnConfig): Promise<VnetStatus[]> {
    const statuses = await this.#applyZones(ctx, config);
    await this.#applyDhcp(ctx, config);
    return statuses;
  }

  /**
   * Proxmox's DHCP regeneration for the zones of this node: zones with `dhcp` get their subnets
   * registered in the IPAM and their dnsmasq (re)configured; the dnsmasq of a zone without
   * `dhcp` is stopped.
   */
  async #applyDhcp(ctx: NetworkContext, config: SdnConfig): Promise<void> {
    const dhcp = this.options.dhcp;
    if (!dhcp) return;
    for (const r of this.resolve(config, ctx.node)) {
      if (r.zone.options.dhcp === undefined) {
        await dhcp.server.stop(r.zone.id);
        continue;
      }
      const subnets = config.subnets.filter((s) => s.zone === r.zone.id);
      for (const subnet of subnets) await dhcp.ipam.addSubnet(subnet);
      await dhcp.server.configure(ctx, r.zone, r.vnets, subnets, await dhcp.ipam.read());
    }
  }

  /**
   * Proxmox's `add_dhcp_mapping` for a guest NIC on `vnet`: the guest's address in the first
   * subnet of the vnet with DHCP ranges (an address the MAC already has, else the first free
   * one of the ranges), written to the zone's dnsmasq `ethers` (SIGHUP).
   *
   * @returns The address, or undefined when the vnet's zone has no `dhcp` or no subnet with ranges.
   * @throws InvalidConfigError for an unknown vnet; ConflictError when the ranges are full.
   */
  async addDhcpMapping(config: SdnConfig, vnet: string, guest: IpamGuest): Promise<string | undefined> {
    const dhcp = this.options.dhcp;
    const definition = config.vnets.find((v) => v.id === vnet);
    if (!definition) throw new InvalidConfigError('vnet', vnet, `vnet '${vnet}' does not exist`);
    const zone = config.zones.find((z) => z.id === definition.zone);
    const subnet = config.subnets.find((s) => s.vnet === vnet && s.dhcpRanges.length > 0);
    if (!dhcp || !zone?.options.dhcp || !subnet) return undefined;
    const ip = await dhcp.ipam.allocate(subnet, guest);
    await dhcp.server.reload(zone.id, await dhcp.ipam.read());
    return ip;
  }

  async #applyZones(ctx: NetworkContext, config: SdnConfig): Promise<VnetStatus[]> {
    const resolved = this.resolve(config, ctx.node);
    if (resolved.every((r) => isPlannedZoneDriver(r.driver))) {
      const links = await readLinks(ctx);
      const desired: DeviceSpec[] = [];
      for (const r of resolved) if (isPlannedZoneDriver(r.driver)) desired.push(...(await r.driver.plan(ctx, r.zone, r.vnets, links)));
      // A device two zones want (vlan zones on one bridge and tag share `<bridge>v<tag>`) is made once, as Proxmox does.
      const seen = new Set<string>();
      await applyDevices(ctx, desired.filter((d) => !seen.has(d.name) && seen.add(d.name)), () => true);
      const after = await readLinks(ctx);
      return resolved.flatMap((r) => vnetStatuses(after, r.vnets));
    }
    const statuses: VnetStatus[] = [];
    for (const r of resolved) statuses.push(...(await r.driver.apply(ctx, r.zone, r.vnets)));
    return statuses;
  }

  /** The status of every vnet that applies on this node. */
  async status(ctx: NetworkContext, config: SdnConfig): Promise<VnetStatus[]> {
    const statuses: VnetStatus[] = [];
    for (const r of this.resolve(config, ctx.node)) statuses.push(...(await r.driver.status(ctx, r.zone, r.vnets)));
    return statuses;
  }
}

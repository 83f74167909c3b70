/**
 * Proxmox's `simple` zone: one bridge per vnet without ports; a subnet's gateway becomes an
 * address of the bridge (`address <gateway>/<prefix>`), IPv4 forwarding is on for it, and a
 * subnet with `snat` is source-NATed to the node's address, as `SimplePlugin.pm` writes it.
 *
 * @packageDocumentation
 */
import { InvalidConfigError, type NetworkContext, type NetworkZoneDefinition, type VnetDefinition } from '@corral/core';
import type { DeviceSpec, SnatRule } from '../deviceSpec.js';
import { formatIp, parseCidr, parseIp } from '../ipAddress.js';
import { ipArgv, type NodeLinks } from '../linkState.js';
import { checkZoneBasics, DeviceZoneDriver, intOption } from './deviceZoneDriver.js';

/** Zone type `simple`. */
export class SimpleZoneDriver extends DeviceZoneDriver {
  readonly type = 'simple';

  /** @throws InvalidConfigError for a vnet with a `tag` (Proxmox: "vlan tag is not allowed on simple zone"), a bad `mtu` or subnet. */
  validate(zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[]): void {
    checkZoneBasics(zone, vnets);
    for (const vnet of vnets) {
      if (vnet.tag !== undefined) throw new InvalidConfigError('tag', vnet.tag, `vnet '${vnet.id}': vlan tag is not allowed on simple zone '${zone.id}'`);
      for (const subnet of vnet.subnets ?? []) {
        if (!parseCidr(subnet.cidr)) throw new InvalidConfigError('subnet', subnet.cidr, `vnet '${vnet.id}': '${subnet.cidr}' is not a CIDR`);
      }
    }
  }

  /**
   * One bridge per vnet; with a gateway, IPv4 forwarding on it (`ip-forward on`); a subnet with
   * `snat` gets a rule to the node's address on the device of its default route (Proxmox's
   * `get_local_route_ip`: `ip route get 8.8.8.8`, `2001:4860:4860::8888` for IPv6). Without
   * such a route the rule is left out with a warning, as Proxmox leaves it out.
   */
  async plan(ctx: NetworkContext, zone: NetworkZoneDefinition, vnets: readonly VnetDefinition[], _links: NodeLinks): Promise<DeviceSpec[]> {
    const mtu = intOption(zone, 'mtu', 68, 65535);
    const routes = new Map<4 | 6, { dev: string; prefsrc: string } | undefined>();
    const outRoute = async (family: 4 | 6) => {
      if (!routes.has(family)) routes.set(family, await routeTo(ctx, family === 4 ? '8.8.8.8' : '2001:4860:4860::8888'));
      return routes.get(family);
    };
    const out: DeviceSpec[] = [];
    for (const vnet of vnets) {
      const subnets = vnet.subnets ?? [];
      const addresses = [...new Set(subnets.filter((s) => s.gateway && parseIp(s.gateway)).map((s) => `${formatIp(parseIp(s.gateway!)!)}/${parseCidr(s.cidr)!.prefix}`))];
      const snat: SnatRule[] = [];
      for (const subnet of subnets.filter((s) => s.snat)) {
        const family = parseCidr(subnet.cidr)!.family;
        const route = await outRoute(family);
        if (route) snat.push({ family, source: subnet.cidr, outIf: route.dev, toSource: route.prefsrc });
        else ctx.log.warn(`zone '${zone.id}': subnet ${subnet.cidr} of vnet '${vnet.id}' has snat but the node has no IPv${family} default route: no SNAT`);
      }
      const forward = subnets.some((s) => s.gateway && parseIp(s.gateway)?.family === 4);
      out.push({
        name: vnet.id,
        kind: 'bridge',
        zone: zone.id,
        ...(mtu ? { mtu } : {}),
        ...(addresses.length > 0 ? { addresses } : {}),
        ...(forward ? { forward } : {}),
        ...(snat.length > 0 ? { snat } : {}),
      });
    }
    return out;
  }
}

/** The device and source address of the route to `target` (`ip -j route get`), or undefined without one. */
async function routeTo(ctx: NetworkContext, target: string): Promise<{ dev: string; prefsrc: string } | undefined> {
  const result = await ctx.runner.run(ipArgv(ctx, '-j', 'route', 'get', target), { timeoutMs: 30_000, okExitCodes: [0, 1, 2] });
  if (result.exitCode !== 0) return undefined;
  const [route] = JSON.parse(result.stdout || '[]') as { dev?: string; prefsrc?: string }[];
  return route?.dev && route.prefsrc ? { dev: route.dev, prefsrc: route.prefsrc } : undefined;
}

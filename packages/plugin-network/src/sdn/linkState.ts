/**
 * The network devices of a node (or of a test's network namespace) as `ip -j -d link`,
 * `ip -j addr` and `bridge -j fdb` report them, and the argv helpers that aim `ip` and
 * `bridge` at the context's namespace.
 *
 * @packageDocumentation
 */
import type { NetworkContext } from '@corral/core';

/** One device as the kernel reports it. */
export interface LinkState {
  readonly name: string;
  /** `bridge`, `vxlan`, `veth`, `vlan`...; undefined for a physical device or a tap. */
  readonly kind?: string;
  readonly mtu: number;
  /** Administratively up. */
  readonly up: boolean;
  readonly master?: string;
  /** The interface alias (`ifalias`). */
  readonly alias?: string;
  readonly mac?: string;
  /** For `vxlan`: VNI and UDP port. */
  readonly vxlan?: { readonly id: number; readonly port: number };
  /** For `vlan`: the parent device, VLAN id and protocol. */
  readonly vlan?: { readonly link: string; readonly id: number; readonly protocol: string };
  /** For `veth`: the peer's name when it is in the same namespace. */
  readonly peer?: string;
  /** For `bridge`: true when it filters VLANs (a VLAN-aware bridge). */
  readonly vlanFiltering?: boolean;
  /** Global addresses in CIDR notation (`10.0.0.1/24`). */
  readonly addresses: readonly string[];
}

/** All devices of a namespace by name. */
export type NodeLinks = ReadonlyMap<string, LinkState>;

/** `ip` aimed at the context's namespace. */
export function ipArgv(ctx: NetworkContext, ...args: string[]): string[] {
  return ctx.netns ? ['ip', '-n', ctx.netns, ...args] : ['ip', ...args];
}

/** `bridge` aimed at the context's namespace. */
export function bridgeArgv(ctx: NetworkContext, ...args: string[]): string[] {
  return ctx.netns ? ['bridge', '-n', ctx.netns, ...args] : ['bridge', ...args];
}

/** Runs a read-only command and parses its JSON output (`[]` for empty output). */
async function runJson(ctx: NetworkContext, argv: string[]): Promise<unknown[]> {
  const { stdout } = await ctx.runner.run(argv, { timeoutMs: 30_000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  const trimmed = stdout.trim();
  return trimmed === '' ? [] : (JSON.parse(trimmed) as unknown[]);
}

interface IpLinkJson {
  ifname: string;
  flags?: string[];
  mtu: number;
  master?: string;
  ifalias?: string;
  address?: string;
  link?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; protocol?: string; vlan_filtering?: number } };
}

interface IpAddrJson {
  ifname: string;
  addr_info?: { local: string; prefixlen: number; scope?: string }[];
}

/**
 * Reads every device of the context's namespace with its kind, MTU, state, master, alias and
 * global addresses (`ip -j -d link show`, `ip -j addr show`).
 *
 * @throws CommandFailedError from `ip` (e.g. a namespace that does not exist).
 */
export async function readLinks(ctx: NetworkContext): Promise<Map<string, LinkState>> {
  const [links, addrs] = await Promise.all([runJson(ctx, ipArgv(ctx, '-j', '-d', 'link', 'show')), runJson(ctx, ipArgv(ctx, '-j', 'addr', 'show'))]);
  const addresses = new Map<string, string[]>();
  for (const entry of addrs as IpAddrJson[]) {
    addresses.set(
      entry.ifname,
      (entry.addr_info ?? []).filter((a) => a.scope === undefined || a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`),
    );
  }
  const out = new Map<string, LinkState>();
  for (const link of links as IpLinkJson[]) {
    const kind = link.linkinfo?.info_kind;
    const data = link.linkinfo?.info_data ?? {};
    out.set(link.ifname, {
      name: link.ifname,
      ...(kind ? { kind } : {}),
      mtu: link.mtu,
      up: (link.flags ?? []).includes('UP'),
      ...(link.master ? { master: link.master } : {}),
      ...(link.ifalias ? { alias: link.ifalias } : {}),
      ...(link.address ? { mac: link.address } : {}),
      ...(kind === 'vxlan' ? { vxlan: { id: data.id ?? 0, port: data.port ?? 0 } } : {}),
      ...(kind === 'vlan' && link.link ? { vlan: { link: link.link, id: data.id ?? 0, protocol: data.protocol ?? '802.1Q' } } : {}),
      ...(kind === 'veth' && link.link ? { peer: link.link } : {}),
      ...(kind === 'bridge' ? { vlanFiltering: data.vlan_filtering === 1 } : {}),
      addresses: addresses.get(link.ifname) ?? [],
    });
  }
  return out;
}

/**
 * The remote VTEPs of a VXLAN device: the `dst` of its all-zero MAC entries in the forwarding
 * database (`bridge -j fdb show dev <name>`), sorted (the kernel's listing order is not
 * meaningful: a rollback that re-adds entries may change it).
 */
export async function readVxlanRemotes(ctx: NetworkContext, device: string): Promise<string[]> {
  const entries = (await runJson(ctx, bridgeArgv(ctx, '-j', 'fdb', 'show', 'dev', device))) as { mac?: string; dst?: string }[];
  return entries
    .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
    .map((e) => e.dst!)
    .sort();
}

/**
 * Converges a node's SDN devices to a desired set, atomically: what exists is read
 * (`ip -j -d link`), compared with what the zones want, and changed in phases; every change
 * is journaled with its inverse, and a failed step undoes the journal in reverse order, so
 * the network that was up stays up.
 *
 * @packageDocumentation
 */
import { ConflictError, type NetworkContext } from '@corral/core';
import { sdnAlias, zoneOfAlias, type DeviceSpec, type SnatRule } from './deviceSpec.js';
import { inNetns, natTableDigest, natTableText, nftLoadArgv, readNatTable, replaceNatTableInput } from './natTable.js';
import { bridgeArgv, ipArgv, readLinks, readVxlanRemotes, type LinkState, type NodeLinks } from './linkState.js';

/** What {@link applyDevices} did. */
export interface ApplyDevicesResult {
  /** Commands that changed something (0 when the node already matched). */
  readonly changes: number;
}

/** A command: argv, or argv with bytes for its stdin (`nft -f -`). */
type Command = readonly string[] | { readonly argv: readonly string[]; readonly input: string };

/** One change and the commands that undo it. */
interface Step {
  readonly run: readonly Command[];
  readonly undo: readonly Command[];
}

async function runCommand(ctx: NetworkContext, command: Command, signal?: AbortSignal): Promise<void> {
  const [argv, input] = 'argv' in command ? [command.argv, command.input] : [command as readonly string[], undefined];
  await ctx.runner.run(argv, { timeoutMs: 30_000, ...(input === undefined ? {} : { input }), ...(signal ? { signal } : {}) });
}

/** Devices that forward IPv4: those that `forward`, and those SNAT leaves through. */
function forwardingDevices(desired: readonly DeviceSpec[]): Set<string> {
  return new Set([...desired.filter((d) => d.forward).map((d) => d.name), ...snatRules(desired, 4).map((r) => r.outIf)]);
}

/** The sysctl of a device's IPv4 forwarding (dots in names become `/`). */
function forwardingKey(device: string): string {
  return `net.ipv4.conf.${device.replaceAll('.', '/')}.forwarding`;
}

/** The SNAT rules of `desired` in one family. */
function snatRules(desired: readonly DeviceSpec[], f: 4 | 6): SnatRule[] {
  return desired.flatMap((d) => d.snat ?? []).filter((r) => r.family === f);
}

const ZERO_MAC = '00:00:00:00:00:00';

function createArgvs(ctx: NetworkContext, spec: { name: string; kind: string; mtu?: number; mac?: string; vxlan?: DeviceSpec['vxlan']; peer?: string; vlan?: DeviceSpec['vlan'] }): string[][] {
  const common = [...(spec.mtu ? ['mtu', String(spec.mtu)] : []), ...(spec.mac ? ['address', spec.mac] : [])];
  switch (spec.kind) {
    case 'bridge':
      return [ipArgv(ctx, 'link', 'add', 'name', spec.name, ...common, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0')];
    case 'vxlan':
      return [ipArgv(ctx, 'link', 'add', 'name', spec.name, ...common, 'type', 'vxlan', 'id', String(spec.vxlan!.id), 'dstport', String(spec.vxlan!.port))];
    case 'veth':
      return [ipArgv(ctx, 'link', 'add', 'name', spec.name, ...common, 'type', 'veth', 'peer', 'name', spec.peer!, ...(spec.mtu ? ['mtu', String(spec.mtu)] : []))];
    case 'vlan':
      return [
        ipArgv(ctx, 'link', 'add', 'link', spec.vlan!.link, 'name', spec.name, ...common, 'type', 'vlan', 'protocol', spec.vlan!.protocol, 'id', String(spec.vlan!.id)),
      ];
    default:
      throw new ConflictError(`cannot re-create device '${spec.name}' of kind '${spec.kind}'`);
  }
}

/** Marks a device just created (and a veth's peer, created with it) as SDN's, with the zone's alias. */
function markArgvs(ctx: NetworkContext, spec: DeviceSpec): string[][] {
  const names = spec.kind === 'veth' && spec.peer ? [spec.name, spec.peer] : [spec.name];
  return names.map((name) => ipArgv(ctx, 'link', 'set', 'dev', name, 'alias', sdnAlias(spec.zone)));
}

/** Commands that bring back a device SDN removed, as it was (`state`), with its ports (`ports`). */
function recreateArgvs(ctx: NetworkContext, state: LinkState, remotes: readonly string[], ports: readonly string[], peer?: LinkState): string[][] {
  const out = createArgvs(ctx, { name: state.name, kind: state.kind ?? '', mtu: state.mtu, ...(state.mac ? { mac: state.mac } : {}), ...(state.vxlan ? { vxlan: state.vxlan } : {}), ...(state.peer ? { peer: state.peer } : {}), ...(state.vlan ? { vlan: { ...state.vlan, protocol: state.vlan.protocol as '802.1Q' } } : {}) });
  for (const end of peer ? [state, peer] : [state]) {
    if (end.alias) out.push(ipArgv(ctx, 'link', 'set', 'dev', end.name, 'alias', end.alias));
    if (end.master) out.push(ipArgv(ctx, 'link', 'set', 'dev', end.name, 'master', end.master));
    for (const address of end.addresses) out.push(ipArgv(ctx, 'addr', 'add', address, 'dev', end.name));
    if (end.up) out.push(ipArgv(ctx, 'link', 'set', 'dev', end.name, 'up'));
  }
  for (const remote of remotes) out.push(bridgeArgv(ctx, 'fdb', 'append', ZERO_MAC, 'dev', state.name, 'dst', remote));
  for (const port of ports) out.push(ipArgv(ctx, 'link', 'set', 'dev', port, 'master', state.name));
  if (ports.length > 0) out.push(ipArgv(ctx, 'link', 'set', 'dev', state.name, 'mtu', String(state.mtu)));
  return out;
}

function portsOf(links: NodeLinks, bridge: string): string[] {
  return [...links.values()].filter((l) => l.master === bridge).map((l) => l.name);
}

/** True when an existing device cannot become `spec` in place (kind, VNI, port, parent differ). */
function incompatible(state: LinkState, spec: DeviceSpec): boolean {
  if (state.kind !== spec.kind) return true;
  if (spec.vxlan && (state.vxlan?.id !== spec.vxlan.id || state.vxlan?.port !== spec.vxlan.port)) return true;
  if (spec.vlan && (state.vlan?.link !== spec.vlan.link || state.vlan?.id !== spec.vlan.id || state.vlan?.protocol !== spec.vlan.protocol)) return true;
  if (spec.peer && state.peer !== undefined && state.peer !== spec.peer) return true;
  return false;
}

/**
 * Converges the devices of the context's namespace to `desired`:
 *
 * 1. devices marked as SDN's (alias `corral-sdn:<zone>`) of a zone in `scope` that are not
 *    desired are deleted;
 * 2. missing devices are created (`ip link add ... type bridge|vxlan|veth|vlan`), devices of
 *    the wrong kind, VNI, port or parent re-created;
 * 3. ports are put into their bridges;
 * 4. MTUs set;
 * 5. aliases, addresses, VXLAN remotes (`bridge fdb append 00:00:00:00:00:00 ... dst <peer>`)
 *    set, and every desired device brought up;
 * 6. IPv4 forwarding (`sysctl net.ipv4.conf.<dev>.forwarding=1`) on devices that `forward`
 *    and on the devices SNAT leaves through;
 * 7. the SNAT rules, as the nftables tables `ip|ip6 corral_sdn` replaced whole (`nft -f`).
 *
 * Each phase reads the devices again and changes only what differs, so a second call with the
 * same input runs no change (`changes: 0`). When a command fails, every change made so far is
 * undone in reverse order (failures while undoing are logged as warnings) and the error is
 * rethrown: the devices are as before the call.
 *
 * @throws ConflictError when a desired device exists without SDN's mark (SDN does not take
 *   over devices it did not create); CommandFailedError from `ip`/`bridge`.
 */
export async function applyDevices(ctx: NetworkContext, desired: readonly DeviceSpec[], scope: (zone: string) => boolean): Promise<ApplyDevicesResult> {
  const journal: Step[] = [];
  const wanted = new Map(desired.map((d) => [d.name, d]));
  const run = async (step: Step): Promise<void> => {
    for (const command of step.run) {
      try {
        await runCommand(ctx, command, ctx.signal);
      } catch (error) {
        // The part of this step that ran is undone with the step.
        journal.push(step);
        throw error;
      }
    }
    journal.push(step);
  };
  try {
    // Phase 1: delete SDN devices no zone in scope wants any more.
    let links = await readLinks(ctx);
    for (const link of links.values()) {
      const zone = zoneOfAlias(link.alias);
      if (zone === undefined || !scope(zone) || wanted.has(link.name)) continue;
      if (link.kind === 'veth' && link.peer && !wanted.has(link.peer) && link.peer < link.name && links.has(link.peer)) continue; // the pair goes with its other end
      const remotes = link.kind === 'vxlan' ? await readVxlanRemotes(ctx, link.name) : [];
      const peer = link.kind === 'veth' && link.peer ? links.get(link.peer) : undefined;
      await run({ run: [ipArgv(ctx, 'link', 'del', 'dev', link.name)], undo: recreateArgvs(ctx, link, remotes, portsOf(links, link.name), peer) });
    }
    // Phase 2: create what is missing, re-create what cannot be changed in place.
    links = await readLinks(ctx);
    for (const spec of desired) {
      const existing = links.get(spec.name);
      if (existing && zoneOfAlias(existing.alias) === undefined) {
        throw new ConflictError(`device '${spec.name}' exists and was not created by SDN (zone '${spec.zone}' wants it as a ${spec.kind})`);
      }
      if (existing && !incompatible(existing, spec)) continue;
      if (spec.kind === 'veth' && spec.peer && links.has(spec.peer) && !existing) {
        throw new ConflictError(`veth peer '${spec.peer}' of '${spec.name}' exists on its own`);
      }
      const create = [...createArgvs(ctx, spec), ...markArgvs(ctx, spec)];
      const del = [ipArgv(ctx, 'link', 'del', 'dev', spec.name)];
      if (existing) {
        const remotes = existing.kind === 'vxlan' ? await readVxlanRemotes(ctx, existing.name) : [];
        await run({ run: [...del, ...create], undo: [...del, ...recreateArgvs(ctx, existing, remotes, portsOf(links, existing.name))] });
      } else {
        await run({ run: create, undo: del });
      }
      if (spec.kind === 'veth') links = await readLinks(ctx);
    }
    // Phase 3: bridge membership.
    links = await readLinks(ctx);
    for (const spec of desired) {
      const state = links.get(spec.name)!;
      if (state.master === spec.master) continue;
      const setMaster = (master: string | undefined) => ipArgv(ctx, 'link', 'set', 'dev', spec.name, ...(master ? ['master', master] : ['nomaster']));
      await run({ run: [setMaster(spec.master)], undo: [setMaster(state.master)] });
    }
    // Phase 4: MTUs (after membership, which changes a bridge's MTU).
    links = await readLinks(ctx);
    for (const spec of desired) {
      const state = links.get(spec.name)!;
      if (spec.mtu === undefined || state.mtu === spec.mtu) continue;
      await run({ run: [ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'mtu', String(spec.mtu))], undo: [ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'mtu', String(state.mtu))] });
    }
    // Phase 5: alias, addresses, VXLAN remotes, up.
    links = await readLinks(ctx);
    for (const spec of desired) {
      const state = links.get(spec.name)!;
      const alias = sdnAlias(spec.zone);
      if (state.alias !== alias) {
        await run({ run: [ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'alias', alias)], undo: [ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'alias', state.alias ?? '')] });
      }
      const addresses = spec.addresses ?? [];
      for (const address of state.addresses.filter((a) => !addresses.includes(a))) {
        await run({ run: [ipArgv(ctx, 'addr', 'del', address, 'dev', spec.name)], undo: [ipArgv(ctx, 'addr', 'add', address, 'dev', spec.name)] });
      }
      for (const address of addresses.filter((a) => !state.addresses.includes(a))) {
        await run({ run: [ipArgv(ctx, 'addr', 'add', address, 'dev', spec.name)], undo: [ipArgv(ctx, 'addr', 'del', address, 'dev', spec.name)] });
      }
      if (spec.kind === 'vxlan') {
        const remotes = await readVxlanRemotes(ctx, spec.name);
        const want = spec.remotes ?? [];
        const fdb = (verb: string, dst: string) => bridgeArgv(ctx, 'fdb', verb, ZERO_MAC, 'dev', spec.name, 'dst', dst);
        for (const dst of remotes.filter((r) => !want.includes(r))) await run({ run: [fdb('del', dst)], undo: [fdb('append', dst)] });
        for (const dst of want.filter((r) => !remotes.includes(r))) await run({ run: [fdb('append', dst)], undo: [fdb('del', dst)] });
      }
      if (!state.up) {
        await run({ run: [ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'up')], undo: [ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'down')] });
      }
    }
    // Phase 6: IPv4 forwarding on routed vnets and the devices their SNAT leaves through.
    for (const name of forwardingDevices(desired)) {
      const key = forwardingKey(name);
      const { stdout } = await ctx.runner.run(inNetns(ctx, ['sysctl', '-n', key]), { timeoutMs: 30_000 });
      if (stdout.trim() === '1') continue;
      await run({ run: [inNetns(ctx, ['sysctl', '-q', '-w', `${key}=1`])], undo: [inNetns(ctx, ['sysctl', '-q', '-w', `${key}=${stdout.trim()}`])] });
    }
    // Phase 7: the SNAT tables, replaced whole when their rules changed.
    for (const f of [4, 6] as const) {
      const text = natTableText(f, snatRules(desired, f));
      const current = await readNatTable(ctx, f);
      if (natTableDigest(current) === natTableDigest(text)) continue;
      const nft = nftLoadArgv(ctx);
      await run({ run: [{ argv: nft, input: replaceNatTableInput(f, text) }], undo: [{ argv: nft, input: replaceNatTableInput(f, current) }] });
    }
  } catch (error) {
    await rollback(ctx, journal);
    throw error;
  }
  return { changes: journal.reduce((n, step) => n + step.run.length, 0) };
}

/** Runs the undo commands of the journal in reverse order; a failing one is logged and skipped. */
async function rollback(ctx: NetworkContext, journal: readonly Step[]): Promise<void> {
  for (const step of [...journal].reverse()) {
    for (const command of step.undo) {
      try {
        await runCommand(ctx, command);
      } catch (error) {
        const argv = 'argv' in command ? command.argv : (command as readonly string[]);
        ctx.log.warn(`SDN rollback: '${argv.join(' ')}' failed: ${(error as Error).message}`);
      }
    }
  }
}

/**
 * The commands {@link applyDevices} runs for `desired` on a node that has none of them, in
 * its order (create and mark, ports, addresses, VXLAN remotes, up, forwarding, the SNAT
 * table's `nft -f -`) when forwarding is off everywhere: what applying the zones means in
 * `ip`/`bridge` terms, for argv tests of zones this kernel cannot run (`vlan`). MTUs are
 * given at creation, so phase 4 adds nothing here.
 */
export function creationArgvs(ctx: NetworkContext, desired: readonly DeviceSpec[]): string[][] {
  const out: string[][] = [];
  const createdWithPair = new Set(desired.filter((d) => d.kind === 'veth' && d.peer).map((d) => d.peer!));
  const made = new Set<string>();
  for (const spec of desired) {
    if (createdWithPair.has(spec.name) && made.has(spec.peer ?? '')) continue;
    out.push(...createArgvs(ctx, spec), ...markArgvs(ctx, spec));
    made.add(spec.name);
  }
  for (const spec of desired) if (spec.master) out.push(ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'master', spec.master));
  for (const spec of desired) {
    for (const address of spec.addresses ?? []) out.push(ipArgv(ctx, 'addr', 'add', address, 'dev', spec.name));
    for (const dst of spec.remotes ?? []) out.push(bridgeArgv(ctx, 'fdb', 'append', ZERO_MAC, 'dev', spec.name, 'dst', dst));
    out.push(ipArgv(ctx, 'link', 'set', 'dev', spec.name, 'up'));
  }
  for (const name of forwardingDevices(desired)) out.push(inNetns(ctx, ['sysctl', '-q', '-w', `${forwardingKey(name)}=1`]));
  for (const f of [4, 6] as const) if (snatRules(desired, f).length > 0) out.push(nftLoadArgv(ctx));
  return out;
}

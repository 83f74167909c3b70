/**
 * `ctx.network` of a hypervisor driver: core's Linux-bridge plugger wrapped in the NIC plug
 * hooks plugins registered (SDN, firewall).
 *
 * @packageDocumentation
 */
import type { GuestNetworkAccess, GuestNic, GuestNicPorts, NicHookContext, NicPlugHook } from '../contracts/network.js';
import { InvalidArgumentError } from '../errors.js';
import type { LinuxBridgeNicPlugger } from './LinuxBridgeNicPlugger.js';

/** What {@link guestNetworkAccess} needs. */
export interface GuestNetworkAccessDeps {
  readonly plugger: LinuxBridgeNicPlugger;
  /** The registered hooks, in registration order (read at every call: plugins may load later). */
  readonly hooks: () => readonly NicPlugHook[];
  readonly ctx: NicHookContext;
}

/** Keys whose change re-plugs a NIC (qemu-server's `vmconfig_update_net`). */
const REPLUG_FIELDS = ['bridge', 'tag', 'trunks', 'firewall', 'mtu', 'kind'] as const;

/** Builds the {@link GuestNetworkAccess} of one guest operation. */
export function guestNetworkAccess(deps: GuestNetworkAccessDeps): GuestNetworkAccess {
  const { plugger, ctx } = deps;

  /** The NIC with its bridge as the first answering hook's `resolveBridge` names it. */
  const resolve = async (nic: GuestNic): Promise<GuestNic> => {
    for (const h of deps.hooks()) {
      const bridge = await h.resolveBridge?.(ctx, nic);
      if (typeof bridge === 'string') return { ...nic, bridge };
    }
    return nic;
  };

  const check = async (nic: GuestNic): Promise<{ bridge: string; bridgeMtu: number }> => {
    plugger.check(nic);
    const resolved = await resolve(nic);
    return { bridge: resolved.bridge, bridgeMtu: await plugger.checkHost(ctx, resolved) };
  };

  const unplug = async (nic0: GuestNic): Promise<void> => {
    const nic = await resolve(nic0);
    const given: Array<{ hook: NicPlugHook; nic: GuestNic }> = [];
    let current = nic;
    for (const h of [...deps.hooks()].reverse()) {
      given.push({ hook: h, nic: current });
      current = (await h.beforeUnplug?.(ctx, current)) ?? current;
    }
    await plugger.unplug(ctx, current);
    for (const g of given) {
      await Promise.resolve()
        .then(() => g.hook.afterUnplug?.(ctx, g.nic))
        .catch((e: Error) => ctx.log.warn(`${nic.key}: a NIC hook failed after unplugging ${nic.ifname}: ${e.message}`));
    }
  };

  const plug = async (nic0: GuestNic): Promise<GuestNicPorts> => {
    plugger.check(nic0);
    const nic = await resolve(nic0);
    const hooks = deps.hooks();
    const prepared: Array<{ hook: NicPlugHook; nic: GuestNic }> = [];
    let current = nic;
    try {
      for (const h of hooks) {
        const given = current;
        current = (await h.beforePlug?.(ctx, given)) ?? given;
        prepared.push({ hook: h, nic: given });
      }
      const ports = await plugger.plug(ctx, current);
      try {
        for (const h of hooks) await h.afterPlug?.(ctx, current, ports);
      } catch (err) {
        await plugger.unplug(ctx, current).catch((e: Error) => ctx.log.warn(`${nic.key}: undoing the failed plug of ${nic.ifname}: ${e.message}`));
        throw err;
      }
      return ports;
    } catch (err) {
      for (const p of prepared.reverse()) {
        await Promise.resolve()
          .then(() => p.hook.afterUnplug?.(ctx, p.nic))
          .catch((e: Error) => ctx.log.warn(`${nic.key}: undoing a NIC hook after a failed plug of ${nic.ifname}: ${e.message}`));
      }
      throw err;
    }
  };

  const update = async (before: GuestNic, after: GuestNic): Promise<void> => {
    if (before.key !== after.key || before.ifname !== after.ifname) {
      throw new InvalidArgumentError(after.key, `${after.key}: a NIC update keeps its key and interface (${before.key}/${before.ifname} became ${after.key}/${after.ifname})`);
    }
    plugger.check(after);
    if (REPLUG_FIELDS.some((f) => (before[f] ?? undefined) !== (after[f] ?? undefined) && !(f === 'firewall' && Boolean(before.firewall) === Boolean(after.firewall)))) {
      await unplug(before);
      try {
        await plug(after);
      } catch (err) {
        // Undo: the NIC goes back to where it was, so a refused change does not leave it unplugged.
        await plug(before).catch((e: Error) => ctx.log.warn(`${after.key}: re-plugging ${after.ifname} into ${before.bridge} after a failed update: ${e.message}`));
        throw err;
      }
      return;
    }
    if ((before.rate ?? 0) !== (after.rate ?? 0)) await plugger.setRate(ctx, after);
    // (A rate or link change keeps the port: the bridge needs no resolving.)
    if (after.kind === 'veth' && Boolean(before.link_down) !== Boolean(after.link_down)) await plugger.setLink(ctx, after, !after.link_down);
  };

  return { check, plug, unplug, update };
}

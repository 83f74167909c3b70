/**
 * NIC changes of a running container that take effect at once, as pve-container's
 * `update_net` does: a changed `bridge`, `tag`, `trunks`, `firewall` or `rate` re-plugs or
 * re-limits the host side of the veth, and `link_down` sets it down or up, all through core's
 * NIC plugging (`ctx.network.update`). Anything else of a NIC (name, MAC, MTU, addresses), and
 * NICs added or removed, wait for the next start.
 *
 * @packageDocumentation
 */
import { isDeepStrictEqual } from 'node:util';
import type { ApplyChangesResult, GuestContext, LxcNet } from '@corral/core';
import type { ContainerConfig } from '../config/parseContainerConfig.js';
import type { ContainerRunDir } from './ContainerRunDir.js';
import { lxcGuestNic } from './lxcGuestNic.js';

/** `netN` properties that live on the host side of the veth. */
const HOST_SIDE = ['bridge', 'tag', 'trunks', 'firewall', 'rate', 'link_down'] as const;

function guestSide(net: LxcNet): Record<string, unknown> {
  const out: Record<string, unknown> = { ...net };
  for (const k of HOST_SIDE) delete out[k];
  return out;
}

/**
 * Applies the live NIC changes among `keys` (all `netN`) and records the NICs for the stop
 * and the start hook (`nics.json`).
 *
 * @throws what `ctx.network.update` throws (the facade then leaves the change pending).
 */
export async function applyNicChanges(ctx: GuestContext, dir: ContainerRunDir, before: ContainerConfig, after: ContainerConfig, keys: readonly string[]): Promise<ApplyChangesResult> {
  const applied: string[] = [];
  const pending: string[] = [];
  for (const key of keys) {
    const old = before.nets.find((n) => n.key === key);
    const next = after.nets.find((n) => n.key === key);
    const oldNic = old && lxcGuestNic(ctx.vmid, old);
    const nextNic = next && lxcGuestNic(ctx.vmid, next);
    if (!old || !next || !oldNic || !nextNic || old.index !== next.index || !isDeepStrictEqual(guestSide(old.net), guestSide(next.net))) {
      pending.push(key);
      continue;
    }
    const { bridge } = await ctx.network.check(nextNic);
    await ctx.network.update(oldNic, nextNic);
    const recorded = await dir.readNics();
    if (recorded) {
      await dir.writeNics({
        nics: recorded.nics.map((n) => (n.key === key ? nextNic : n)),
        plugged: recorded.plugged.map((n) => (n.key === key ? { ...nextNic, bridge } : n)),
      });
    }
    applied.push(key);
  }
  return { applied, pending };
}

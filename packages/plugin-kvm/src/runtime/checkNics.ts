import { checkGuestNics, type GuestConfigEntries, type GuestContext, type GuestNic } from '@corral/core';
import type { QemuConfig } from '../config/QemuConfig.js';
import { qemuGuestNic } from './qemuGuestNic.js';

/** What {@link checkNics} found. */
export interface CheckedNics {
  /** The bridged NICs, as core's NIC plugging takes them. */
  readonly nics: readonly GuestNic[];
  /** MTU of each bridge named in the config (virtio NICs get it as `host_mtu`). */
  readonly bridgeMtus: ReadonlyMap<string, number>;
}

/**
 * Checks every bridged NIC of `config` through `ctx.network` before anything runs.
 *
 * @throws InvalidConfigError naming the NIC key (see `checkGuestNics`).
 */
export async function checkNics(ctx: GuestContext, config: QemuConfig, entries: GuestConfigEntries): Promise<CheckedNics> {
  const nics = config.nets.flatMap((spec) => qemuGuestNic(config.vmid, spec) ?? []);
  return { nics, bridgeMtus: await checkGuestNics(ctx.network, nics, entries) };
}

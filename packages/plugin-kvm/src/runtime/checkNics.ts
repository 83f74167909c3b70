import { CorralError, ErrorCodes, InvalidConfigError, type GuestContext, type GuestNic } from '@corral/core';
import type { QemuConfig } from '../config/QemuConfig.js';
import { qemuGuestNic } from './qemuGuestNic.js';

/** What {@link checkNics} found. */
export interface CheckedNics {
  /** The bridged NICs, as core's NIC plugging takes them. */
  readonly nics: readonly GuestNic[];
  /** MTU of each bridge named in the config (virtio NICs get it as `host_mtu`). */
  readonly bridgeMtus: ReadonlyMap<string, number>;
}

/** Codes of the NIC check that mean "this config cannot run here". */
const CONFIG_CODES: readonly string[] = [ErrorCodes.notFound, ErrorCodes.notSupported, ErrorCodes.invalidArgument];

/**
 * Checks every bridged NIC of `config` through `ctx.network.check` before anything runs.
 *
 * @throws InvalidConfigError naming the NIC key when its bridge does not exist, cannot carry
 *   its VLANs, or a value is refused (the cause is core's error).
 */
export async function checkNics(ctx: GuestContext, config: QemuConfig): Promise<CheckedNics> {
  const nics: GuestNic[] = [];
  const bridgeMtus = new Map<string, number>();
  for (const spec of config.nets) {
    const nic = qemuGuestNic(config.vmid, spec);
    if (!nic) continue;
    try {
      bridgeMtus.set(nic.bridge, (await ctx.network.check(nic)).bridgeMtu);
    } catch (err) {
      if (err instanceof CorralError && CONFIG_CODES.includes(err.code)) {
        throw new InvalidConfigError(nic.key, nic.bridge, `invalid value for '${nic.key}': ${err.message.replace(`${nic.key}: `, '')}`, { cause: err });
      }
      throw err;
    }
    nics.push(nic);
  }
  return { nics, bridgeMtus };
}

import type { GuestNetworkAccess, GuestNic } from '../contracts/network.js';
import { CorralError, ErrorCodes, InvalidConfigError } from '../errors.js';

/** Codes of a NIC check that mean "this config cannot run on this host". */
const CONFIG_CODES: readonly string[] = [ErrorCodes.notFound, ErrorCodes.notSupported, ErrorCodes.invalidArgument];

/**
 * A hypervisor driver's NIC check before a guest starts: `network.check` of every NIC, with
 * the refusals turned into the driver contract's `InvalidConfigError` naming the NIC key
 * (value: the config value from `values`, cause: core's error). Returns the MTU of each bridge
 * as the config names it.
 *
 * @throws InvalidConfigError for a missing bridge, VLANs the bridge cannot carry, a bad value;
 *   other errors as they come.
 */
export async function checkGuestNics(network: GuestNetworkAccess, nics: readonly GuestNic[], values: Readonly<Record<string, string>>): Promise<Map<string, number>> {
  const bridgeMtus = new Map<string, number>();
  for (const nic of nics) {
    try {
      bridgeMtus.set(nic.bridge, (await network.check(nic)).bridgeMtu);
    } catch (err) {
      if (err instanceof CorralError && CONFIG_CODES.includes(err.code)) {
        const reason = err.message.startsWith(`${nic.key}: `) ? err.message.slice(nic.key.length + 2) : err.message;
        throw new InvalidConfigError(nic.key, values[nic.key], `invalid value for '${nic.key}': ${reason}`, { cause: err });
      }
      throw err;
    }
  }
  return bridgeMtus;
}

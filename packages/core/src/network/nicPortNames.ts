/**
 * Names of the host ports of a guest NIC, as Proxmox's pve-common names them.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError } from '../errors.js';

/** Longest Linux interface name (IFNAMSIZ - 1). */
export const MAX_IFNAME_LENGTH = 15;

const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;

/**
 * Checks a Linux interface (or bridge) name: 1 to 15 of `A-Za-z0-9_.-`, not starting with
 * `.` or `-`.
 *
 * @throws InvalidArgumentError (argument `key`) naming the NIC's key and the name.
 */
export function checkInterfaceName(key: string, name: string, what = 'interface'): string {
  if (!IFNAME.test(name)) throw new InvalidArgumentError(key, `${key}: ${what} name '${name}' is not a Linux interface name (1-15 of A-Za-z0-9_.-)`);
  return name;
}

/** The index `N` of a NIC key `netN`. @throws InvalidArgumentError for another key. */
export function nicIndex(key: string): number {
  const m = /^net(\d+)$/.exec(key);
  if (!m) throw new InvalidArgumentError(key, `'${key}' is not a NIC key (netN)`);
  return Number(m[1]);
}

/** The firewall port of a NIC with `firewall=1` (Proxmox's `fwbr`/`fwln`/`fwpr` names). */
export interface FirewallPortNames {
  /** Port bridge `fwbr<vmid>i<N>`: holds the guest's interface and {@link FirewallPortNames.link}. */
  readonly bridge: string;
  /** Veth end `fwln<vmid>i<N>` in the port bridge. */
  readonly link: string;
  /** Veth end `fwpr<vmid>p<N>` in the NIC's bridge. */
  readonly peer: string;
}

/**
 * The firewall port names of NIC `key` of guest `vmid`.
 *
 * @throws InvalidArgumentError when a name would pass 15 characters (vmids above 99999999 with
 *   two-digit NIC indexes) or `key` is not `netN`.
 */
export function firewallPortNames(vmid: number, key: string): FirewallPortNames {
  const n = nicIndex(key);
  const names = { bridge: `fwbr${vmid}i${n}`, link: `fwln${vmid}i${n}`, peer: `fwpr${vmid}p${n}` };
  for (const name of Object.values(names)) checkInterfaceName(key, name, 'firewall port');
  return names;
}

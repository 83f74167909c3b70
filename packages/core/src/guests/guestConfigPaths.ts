import type { BuiltinGuestType, GuestType } from '../contracts/hypervisor.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Config directory of each built-in guest type under `nodes/<node>/` (Proxmox's names). Another
 * type's is its driver's `info.configDir`.
 */
export const GUEST_CONFIG_DIRS: Readonly<Record<BuiltinGuestType, string>> = Object.freeze({ qemu: 'qemu-server', lxc: 'lxc' });

/**
 * Store directory of a node's configs of one guest type (`nodes/<node>/qemu-server`):
 * `configDir` when given (a plugin's type), else the built-in type's.
 *
 * @throws InvalidArgumentError for a type that is not built in, without `configDir`.
 */
export function guestConfigDir(node: string, type: GuestType, configDir?: string): string {
  const dir = configDir ?? (GUEST_CONFIG_DIRS as Record<string, string | undefined>)[type];
  if (!dir) throw new InvalidArgumentError('type', `unknown guest type '${String(type)}' (qemu or lxc, or a plugin's type with its config dir)`);
  return `nodes/${node}/${dir}`;
}

/** Store path of a guest's config (`nodes/<node>/qemu-server/<vmid>.conf`); `configDir` as in {@link guestConfigDir}. */
export function guestConfigPath(node: string, type: GuestType, vmid: number, configDir?: string): string {
  return `${guestConfigDir(node, type, configDir)}/${vmid}.conf`;
}

import type { GuestType } from '../contracts/hypervisor.js';
import { InvalidArgumentError } from '../errors.js';

/** Config directory of each guest type under `nodes/<node>/` (Proxmox's names). */
export const GUEST_CONFIG_DIRS: Readonly<Record<GuestType, string>> = Object.freeze({ qemu: 'qemu-server', lxc: 'lxc' });

/** Store directory of a node's configs of one guest type (`nodes/<node>/qemu-server`). */
export function guestConfigDir(node: string, type: GuestType): string {
  const dir = GUEST_CONFIG_DIRS[type];
  if (!dir) throw new InvalidArgumentError('type', `unknown guest type '${String(type)}' (qemu or lxc)`);
  return `nodes/${node}/${dir}`;
}

/** Store path of a guest's config (`nodes/<node>/qemu-server/<vmid>.conf`). */
export function guestConfigPath(node: string, type: GuestType, vmid: number): string {
  return `${guestConfigDir(node, type)}/${vmid}.conf`;
}

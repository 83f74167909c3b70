/**
 * Who asks for an operation, and the privilege model built on it.
 *
 * Corral is embedded in portals that pass user input through, so every facade operation
 * takes a {@link Caller}. Config keys and values that reach host root (raw QEMU `args`, raw
 * `lxc.*` keys, host paths and devices as disks or mount points, PCI/USB passthrough, storage
 * paths...) are accepted only from a privileged caller, as Proxmox accepts them only from
 * `root@pam`. The default caller is unprivileged: the safe side is the default. Which keys and
 * values are root-equivalent is data each driver reports (`HypervisorDriver.privilegedUses`,
 * `StorageDriverInfo.privilegedOptions`); the facades check them with {@link assertPrivileged}.
 *
 * @packageDocumentation
 */
import { PermissionError } from '../errors.js';

/**
 * The principal of an operation. `user` is recorded in task UPIDs and named in errors
 * (Proxmox's `name@realm`, or `name@realm!token`); `privileged` allows root-equivalent keys.
 * The API layer maps Proxmox users, tokens and ACLs onto it (only `root@pam` is privileged
 * there); an embedder's own trusted code passes {@link ROOT_CALLER}.
 */
export interface Caller {
  readonly user: string;
  readonly privileged: boolean;
}

/** Host root: may use every root-equivalent key (Proxmox's `root@pam`). */
export const ROOT_CALLER: Caller = Object.freeze({ user: 'root@pam', privileged: true });

/** The caller of an operation that names none: unprivileged. */
export const DEFAULT_CALLER: Caller = Object.freeze({ user: 'nobody@corral', privileged: false });

/** An unprivileged caller acting as `user`. */
export function unprivilegedCaller(user: string): Caller {
  return Object.freeze({ user, privileged: false });
}

/** One root-equivalent use of a config key, as a driver reports it. */
export interface PrivilegedUse {
  /** The config key or storage option (`args`, `scsi1`, `mp0`, `lxc.hook.pre-start`, `path`). */
  readonly key: string;
  /** What it is, as a noun phrase for the error message (`a host device as a disk`). */
  readonly reason: string;
}

/**
 * Refuses `uses` unless `caller` is privileged.
 *
 * @throws PermissionError naming the first key (and listing the others) when `caller` is
 *   unprivileged and `uses` is not empty.
 */
export function assertPrivileged(caller: Caller, uses: readonly PrivilegedUse[]): void {
  if (caller.privileged || uses.length === 0) return;
  const [first, ...rest] = uses;
  const more = rest.length > 0 ? ` (also: ${rest.map((u) => `'${u.key}'`).join(', ')})` : '';
  throw new PermissionError(first!.key, caller.user, `'${first!.key}' needs a privileged caller (${first!.reason}), and '${caller.user}' is not privileged${more}`);
}

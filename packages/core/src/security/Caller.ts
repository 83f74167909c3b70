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
 * Privilege is not data. A privileged caller is one minted by {@link privilegedCaller} (or
 * {@link ROOT_CALLER}): core remembers the objects it minted (a module-private `WeakSet`), so
 * `{ user: 'root@pam', privileged: true }` from a request body, a JSON round trip of
 * `ROOT_CALLER`, a spread copy or an `Object.create` of it are not privileged, and a facade
 * refuses them ({@link checkCaller}). Unprivileged callers stay plain data: `{ user,
 * privileged: false }` grants nothing and is accepted.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, PermissionError } from '../errors.js';
import { excerpt } from '../formats/configText.js';
import { checkUserid } from '../tasks/checkUserid.js';

/**
 * The principal of an operation. `user` is recorded in task UPIDs and named in errors
 * (Proxmox's `name@realm`, or `name@realm!token`). `privileged` says whether it may use
 * root-equivalent keys, but only a caller minted by {@link privilegedCaller} (or
 * {@link ROOT_CALLER}) is privileged: an object that merely says `privileged: true` is refused
 * by every facade. The API layer maps Proxmox users, tokens and ACLs onto it (only `root@pam`
 * is privileged there); an embedder's own trusted code passes {@link ROOT_CALLER}.
 */
export interface Caller {
  readonly user: string;
  readonly privileged: boolean;
}

/** The privileged callers core minted. Module-private: nothing outside can add to it. */
const minted = new WeakSet<Caller>();

/**
 * A privileged caller acting as `user` (frozen): may use every root-equivalent key. For an
 * embedder's trusted code and for an API layer that has authenticated `user` as root (a
 * `root@pam!token`, say); never for a value taken from a request. Privilege is recognised by
 * identity, by the copy of `@corral/core` that minted the object: a copy of it is not
 * privileged.
 *
 * @throws InvalidArgumentError (`user`) when `user` is not a Proxmox user id.
 */
export function privilegedCaller(user: string): Caller {
  checkUserid(user);
  const caller: Caller = Object.freeze({ user, privileged: true });
  minted.add(caller);
  return caller;
}

/** Host root: may use every root-equivalent key (Proxmox's `root@pam`). */
export const ROOT_CALLER: Caller = privilegedCaller('root@pam');

/** The caller of an operation that names none: unprivileged. */
export const DEFAULT_CALLER: Caller = Object.freeze({ user: 'nobody@corral', privileged: false });

/** An unprivileged caller acting as `user` (frozen; the user id is checked where it is used). */
export function unprivilegedCaller(user: string): Caller {
  return Object.freeze({ user, privileged: false });
}

/** True when `caller` is a privileged caller core minted ({@link privilegedCaller}, {@link ROOT_CALLER}). */
export function isPrivileged(caller: Caller): boolean {
  return minted.has(caller);
}

/**
 * The caller of a facade operation, checked before anything happens: the one check every
 * facade applies to the `caller` it is given. `undefined` is {@link DEFAULT_CALLER}; a caller
 * minted by {@link privilegedCaller} is returned as it is; any other object must be an
 * unprivileged one (`privileged` false or absent) with a valid user id, and is returned as a
 * fresh frozen copy (its fields read once, so a getter cannot change its answer later).
 *
 * @param argument the option's name in errors (default `caller`).
 * @throws PermissionError (`key` = `argument`) for a look-alike: an object that claims
 *   `privileged` (any value but `false`/absent) without having been minted by core.
 * @throws InvalidArgumentError (`argument` or `<argument>.user`) for a value that is not an
 *   object, or a user that is not a Proxmox user id.
 */
export function checkCaller(caller: unknown, argument = 'caller'): Caller {
  if (caller === undefined) return DEFAULT_CALLER;
  if (typeof caller !== 'object' || caller === null) throw new InvalidArgumentError(argument, `'${argument}' must be a Caller object`);
  if (minted.has(caller as Caller)) return caller as Caller;
  const { user, privileged } = caller as { user?: unknown; privileged?: unknown };
  if (privileged !== false && privileged !== undefined) {
    const who = typeof user === 'string' ? excerpt(user) : '?';
    throw new PermissionError(
      argument,
      who,
      `'${argument}' claims privilege for '${who}' but was not made by privilegedCaller(): a privileged caller cannot be built from plain data`,
    );
  }
  checkUserid(user as string, `${argument}.user`);
  return unprivilegedCaller(user as string);
}

/** One root-equivalent use of a config key, as a driver reports it. */
export interface PrivilegedUse {
  /** The config key or storage option (`args`, `scsi1`, `mp0`, `lxc.hook.pre-start`, `path`). */
  readonly key: string;
  /** What it is, as a noun phrase for the error message (`a host device as a disk`). */
  readonly reason: string;
}

/**
 * Refuses `uses` unless `caller` is privileged ({@link isPrivileged}: minted by core, not
 * merely saying so).
 *
 * @throws PermissionError naming the first key (and listing the others) when `caller` is not
 *   privileged and `uses` is not empty.
 */
export function assertPrivileged(caller: Caller, uses: readonly PrivilegedUse[]): void {
  if (uses.length === 0 || isPrivileged(caller)) return;
  const [first, ...rest] = uses;
  const more = rest.length > 0 ? ` (also: ${rest.map((u) => `'${u.key}'`).join(', ')})` : '';
  throw new PermissionError(first!.key, caller.user, `'${first!.key}' needs a privileged caller (${first!.reason}), and '${caller.user}' is not privileged${more}`);
}

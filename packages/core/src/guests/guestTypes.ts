/**
 * What core needs to know of each guest type: from its driver's {@link HypervisorInfo}, with
 * Proxmox's values as defaults for the built-in `qemu` and `lxc`, so nothing in core names a
 * guest type.
 *
 * @packageDocumentation
 */
import type { BuiltinGuestType, GuestConfigDialect, GuestState, GuestType, HypervisorDriver, HypervisorInfo } from '../contracts/hypervisor.js';
import { InvalidArgumentError } from '../errors.js';

/** A guest type's traits, every default filled in. */
export interface GuestTypeTraits {
  readonly type: GuestType;
  /** Directory of its configs under `nodes/<node>/`. */
  readonly configDir: string;
  readonly taskPrefix: string;
  readonly configDialect: GuestConfigDialect;
  readonly nicMacFormat: GuestConfigDialect | false;
  readonly nameKey: string;
  readonly suspendedState: GuestState;
}

/** The traits of the built-in types (Proxmox's): what applies when no driver says otherwise. */
export const BUILTIN_GUEST_TYPES: Readonly<Record<BuiltinGuestType, GuestTypeTraits>> = Object.freeze({
  qemu: Object.freeze({ type: 'qemu', configDir: 'qemu-server', taskPrefix: 'qm', configDialect: 'qemu', nicMacFormat: 'qemu', nameKey: 'name', suspendedState: 'paused' }),
  lxc: Object.freeze({ type: 'lxc', configDir: 'lxc', taskPrefix: 'vz', configDialect: 'lxc', nicMacFormat: 'lxc', nameKey: 'hostname', suspendedState: 'frozen' }),
} satisfies Record<BuiltinGuestType, GuestTypeTraits>);

const TYPE_ID = /^[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*$/;
const CONFIG_DIR = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * The traits of the type a driver registered under `key`: its info's fields over the
 * built-in defaults (`key` qemu or lxc) or the generic ones.
 *
 * @throws InvalidArgumentError naming the type when the key or the info's `type`/`configDir` is not usable.
 */
export function guestTypeTraits(key: string, info: HypervisorInfo): GuestTypeTraits {
  if (!TYPE_ID.test(key)) throw new InvalidArgumentError('type', `guest type '${key}' is not a valid type id (lowercase letters, digits, '-', '.')`);
  if (info.type !== key) throw new InvalidArgumentError('type', `the hypervisor registered as '${key}' says its type is '${String(info.type)}'`);
  if (typeof info.configDir !== 'string' || !CONFIG_DIR.test(info.configDir)) {
    throw new InvalidArgumentError('configDir', `guest type '${key}': configDir '${String(info.configDir)}' is not a directory name`);
  }
  const builtin = (BUILTIN_GUEST_TYPES as Record<string, GuestTypeTraits | undefined>)[key];
  return Object.freeze({
    type: key,
    configDir: info.configDir,
    taskPrefix: info.taskPrefix ?? builtin?.taskPrefix ?? key,
    configDialect: info.configDialect ?? builtin?.configDialect ?? 'qemu',
    nicMacFormat: info.nicMacFormat ?? builtin?.nicMacFormat ?? false,
    nameKey: info.nameKey ?? builtin?.nameKey ?? 'name',
    suspendedState: info.suspendedState ?? builtin?.suspendedState ?? 'paused',
  });
}

/**
 * The guest types of a kernel: the built-in ones (always: their configs are listed even with
 * no driver loaded) and every registered hypervisor's, read from the extension point at each
 * call (cached per driver).
 */
export class GuestTypes {
  readonly #cache = new WeakMap<HypervisorDriver, GuestTypeTraits>();

  constructor(private readonly hypervisors: () => ReadonlyMap<string, HypervisorDriver>) {}

  /** Every known type: built-ins first, then registered ones in registration order. A driver whose info is unusable is left out. */
  all(): GuestTypeTraits[] {
    const out = new Map<string, GuestTypeTraits>(Object.entries(BUILTIN_GUEST_TYPES));
    for (const [key, driver] of this.hypervisors()) {
      try {
        out.set(key, this.#traits(key, driver));
      } catch {
        // Reported when the type is used (get).
      }
    }
    return [...out.values()];
  }

  /** The traits of `type`. @throws InvalidArgumentError for a type no driver provides and core does not know, or a driver with unusable info. */
  get(type: GuestType): GuestTypeTraits {
    const driver = this.hypervisors().get(type);
    if (driver) return this.#traits(type, driver);
    const builtin = (BUILTIN_GUEST_TYPES as Record<string, GuestTypeTraits | undefined>)[type];
    if (builtin) return builtin;
    throw new InvalidArgumentError('type', `unknown guest type '${String(type)}': no plugin provides it`);
  }

  #traits(key: string, driver: HypervisorDriver): GuestTypeTraits {
    let traits = this.#cache.get(driver);
    if (!traits) this.#cache.set(driver, (traits = guestTypeTraits(key, driver.info)));
    return traits;
  }
}

/**
 * What the facades treat as root-equivalent, from what a driver declares, with the safe
 * default for drivers written before plugin API 2 that declare nothing: unknown is
 * privileged. The one place that decides it, so that every facade applies the same default.
 *
 * @packageDocumentation
 */
import type { PrivilegedUse } from '../security/Caller.js';
import type { GuestConfigEntries, HypervisorDriver } from './hypervisor.js';
import type { StorageDriver } from './storage.js';

/**
 * The root-equivalent uses among `keys` of `entries`, as `driver` reports them
 * ({@link HypervisorDriver.privilegedUses}). A driver without `privilegedUses` (plugin API 1)
 * gets every key among `keys` that `entries` has, so only a privileged caller may set it.
 * Pure.
 */
export function guestPrivilegedUses(
  driver: HypervisorDriver,
  entries: GuestConfigEntries,
  keys: readonly string[],
  options: { create?: boolean } = {},
): PrivilegedUse[] {
  if (driver.privilegedUses) return driver.privilegedUses(entries, keys, options);
  const type = driver.info.type;
  return [...new Set(keys)]
    .filter((key) => key in entries)
    .map((key) => ({ key, reason: `a key of a '${type}' guest, whose driver does not say which keys reach host root (plugin API 1)` }));
}

/**
 * The root-equivalent uses of a storage definition change: the options among `keys` (set or
 * deleted) that `driver.info.privilegedOptions` lists, plus what the driver's optional
 * `privilegedUses` finds in the resulting `options`. A driver that declares no
 * `privilegedOptions` (plugin API 1) gets every option among `keys`, common ones included.
 * Pure.
 */
export function privilegedOptionUses(
  driver: StorageDriver,
  keys: readonly string[],
  options: Readonly<Record<string, string>>,
): PrivilegedUse[] {
  const { type, privilegedOptions } = driver.info;
  const uses = [...new Set(keys)]
    .filter((key) => privilegedOptions === undefined || privilegedOptions.includes(key))
    .map((key) => ({
      key,
      reason:
        privilegedOptions === undefined
          ? `option '${key}' of a '${type}' storage, whose driver does not say which options reach host root (plugin API 1)`
          : `a place on the host: option '${key}' of a '${type}' storage`,
    }));
  return [...uses, ...(driver.privilegedUses?.(options) ?? [])];
}

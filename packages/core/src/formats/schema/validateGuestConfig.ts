/**
 * One entry point to validate guest configs of either type, section by section or whole files.
 *
 * @packageDocumentation
 */
import type { GuestConfigDialect } from '../../contracts/hypervisor.js';
import { InvalidArgumentError, InvalidConfigError } from '../../errors.js';
import type { GuestConfig } from '../guestConfig.js';
import type { ConfigEntriesInput, ValidateGuestConfigOptions } from './guestKeyTable.js';
import { validateLxcConfig, type LxcConfigValues } from './lxcConfig.js';
import { validateQemuConfig, type QemuConfigValues } from './qemuConfig.js';

/**
 * Validates config entries of a VM (`qemu`) or container (`lxc`) and returns their typed
 * values: {@link validateQemuConfig} or {@link validateLxcConfig}.
 *
 * @throws InvalidConfigError naming the key and value of the first bad entry.
 * @throws InvalidArgumentError for an unknown guest type.
 */
export function validateGuestConfig(type: 'qemu', entries: ConfigEntriesInput, options?: ValidateGuestConfigOptions): QemuConfigValues;
export function validateGuestConfig(type: 'lxc', entries: ConfigEntriesInput, options?: ValidateGuestConfigOptions): LxcConfigValues;
export function validateGuestConfig(
  type: GuestConfigDialect,
  entries: ConfigEntriesInput,
  options?: ValidateGuestConfigOptions,
): QemuConfigValues | LxcConfigValues;
export function validateGuestConfig(
  type: GuestConfigDialect,
  entries: ConfigEntriesInput,
  options: ValidateGuestConfigOptions = {},
): QemuConfigValues | LxcConfigValues {
  if (type === 'qemu') return validateQemuConfig(entries, options);
  if (type === 'lxc') return validateLxcConfig(entries, options);
  throw new InvalidArgumentError('type', `guest type must be 'qemu' or 'lxc', got '${String(type)}'`);
}

/** Typed values of every section of a parsed guest config file. */
export interface ValidatedGuestConfig<V> {
  readonly main: V;
  readonly pending?: V;
  readonly snapshots: ReadonlyMap<string, V>;
}

/**
 * Validates every section of a parsed guest config: the main section, the pending section
 * (where `delete` is allowed) and every snapshot. Special sections (`[special:cloudinit]`) are
 * not validated: Proxmox keeps them for information only. Section descriptions are not
 * checked either (Proxmox reads them as they are).
 *
 * @throws InvalidConfigError naming the key and value of the first bad entry, its message
 *   prefixed with the section (`[PENDING]`, `[snapshot snap1]`) outside the main section.
 */
export function validateGuestConfigFile(config: GuestConfig<'qemu'>): ValidatedGuestConfig<QemuConfigValues>;
export function validateGuestConfigFile(config: GuestConfig<'lxc'>): ValidatedGuestConfig<LxcConfigValues>;
export function validateGuestConfigFile(config: GuestConfig): ValidatedGuestConfig<QemuConfigValues | LxcConfigValues>;
export function validateGuestConfigFile(config: GuestConfig): ValidatedGuestConfig<QemuConfigValues | LxcConfigValues> {
  const check = (section: GuestConfig | NonNullable<GuestConfig['pending']>, label: string | undefined, pending: boolean) => {
    try {
      return validateGuestConfig(config.type, section.entries, { pending });
    } catch (err) {
      if (label === undefined || !(err instanceof InvalidConfigError)) throw err;
      throw new InvalidConfigError(err.key, err.value, `${label} ${err.message}`, { cause: err });
    }
  };
  const main = check(config, undefined, false);
  const pending = config.pending ? check(config.pending, '[PENDING]', true) : undefined;
  const snapshots = new Map<string, QemuConfigValues | LxcConfigValues>();
  for (const [name, section] of config.snapshots) snapshots.set(name, check(section, `[snapshot ${name}]`, false));
  return pending === undefined ? { main, snapshots } : { main, pending, snapshots };
}

import { InvalidArgumentError } from '@corral/core';

/**
 * How the driver picks QEMU's accelerator: `auto` probes KVM (see `KvmProbe`) and falls back
 * to TCG with a task-log warning; `kvm` uses KVM without probing (the embedder vouches for
 * it; QEMU fails if it cannot); `tcg` never uses KVM. A guest's `kvm: 0` means TCG whatever
 * the mode.
 */
export type AcceleratorMode = 'auto' | 'kvm' | 'tcg';

/** The environment variable that forces the accelerator mode (it wins over the plugin option). */
export const ACCELERATOR_ENV = 'CORRAL_QEMU_ACCEL';

const MODES: readonly AcceleratorMode[] = ['auto', 'kvm', 'tcg'];

/** The mode in force and who chose it, for the task log. */
export interface AcceleratorModeChoice {
  readonly mode: AcceleratorMode;
  /** `CORRAL_QEMU_ACCEL=tcg`, `plugin option accelerator: 'kvm'`, or `default`. */
  readonly source: string;
}

/**
 * Checks a plugin option value.
 *
 * @throws InvalidArgumentError (argument `accelerator`) for anything but `auto`, `kvm`, `tcg`.
 */
export function checkAcceleratorMode(value: unknown, argument = 'accelerator'): AcceleratorMode {
  if (typeof value === 'string' && (MODES as readonly string[]).includes(value)) return value as AcceleratorMode;
  throw new InvalidArgumentError(argument, `${argument} must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * The accelerator mode in force. Precedence: the environment variable {@link ACCELERATOR_ENV}
 * when set and not empty, then the plugin option, then `auto`. The variable wins because it is
 * the operator's switch on one machine (force TCG where KVM misbehaves, skip the probe where
 * KVM is known good) without rebuilding the embedding application.
 *
 * @param option the plugin's `accelerator` option (already checked).
 * @param env the environment (default `process.env`), read at each call.
 * @throws InvalidArgumentError naming `CORRAL_QEMU_ACCEL` when the variable has another value.
 */
export function acceleratorMode(option: AcceleratorMode | undefined, env: Readonly<Record<string, string | undefined>> = process.env): AcceleratorModeChoice {
  const raw = env[ACCELERATOR_ENV];
  if (raw !== undefined && raw !== '') {
    return { mode: checkAcceleratorMode(raw, ACCELERATOR_ENV), source: `${ACCELERATOR_ENV}=${raw}` };
  }
  if (option !== undefined) return { mode: option, source: `plugin option accelerator: '${option}'` };
  return { mode: 'auto', source: 'default' };
}

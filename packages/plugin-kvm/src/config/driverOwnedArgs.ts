import { InvalidConfigError } from '@corral/core';

/**
 * QEMU options the driver owns: given again in `args` they would break start, stop, status,
 * snapshots or migration (a second monitor, another pid file, daemonizing twice, a paused or
 * incoming start, another log file, configs read from or written to host files, another user
 * or root directory, another accelerator than the one the KVM probe chose).
 */
export const DRIVER_OWNED_QEMU_OPTIONS: ReadonlySet<string> = new Set([
  'daemonize',
  'pidfile',
  'qmp',
  'qmp-pretty',
  'monitor',
  'mon',
  'S',
  'incoming',
  'loadvm',
  'runas',
  'chroot',
  'name',
  'D',
  'readconfig',
  'writeconfig',
  'nodefconfig',
  'no-user-config',
  'run-with',
  'accel',
]);

/** Options whose value may carry a driver-owned setting: a monitor (`mon:`), the accelerator. */
const OWNED_IN_VALUE: ReadonlyMap<string, (value: string) => string | undefined> = new Map<string, (value: string) => string | undefined>([
  ['serial', (v: string) => (v.startsWith('mon:') ? "a monitor ('mon:')" : undefined)],
  ['parallel', (v: string) => (v.startsWith('mon:') ? "a monitor ('mon:')" : undefined)],
  ['machine', (v: string) => (/(?:^|,)accel=/.test(v) ? "the accelerator ('accel=')" : undefined)],
  ['M', (v: string) => (/(?:^|,)accel=/.test(v) ? "the accelerator ('accel=')" : undefined)],
]);

/**
 * Refuses driver-owned QEMU options among the words of `args`, in every spelling QEMU accepts
 * (`-qmp` and `--qmp`; QEMU takes no `-opt=value` form, so a word like `-qmp=x` is not an
 * option and reaches QEMU as an error of its own), and values that smuggle one in
 * (`-serial mon:stdio`, `-machine pc,accel=kvm`). A word equal to such an option is refused
 * even where it would be the value of the option before it: refusing too much is safe.
 *
 * @throws InvalidConfigError (key `args`) naming the option.
 */
export function checkDriverOwnedArgs(words: readonly string[], raw: string): void {
  for (const [i, word] of words.entries()) {
    if (!word.startsWith('-')) continue;
    const name = word.startsWith('--') ? word.slice(2) : word.slice(1);
    if (DRIVER_OWNED_QEMU_OPTIONS.has(name)) {
      throw new InvalidConfigError('args', raw, `invalid value for 'args': '${word}' is set by the driver and cannot be given in 'args'`);
    }
    const owned = OWNED_IN_VALUE.get(name)?.(words[i + 1] ?? '');
    if (owned) throw new InvalidConfigError('args', raw, `invalid value for 'args': '${word} ${words[i + 1]}' sets ${owned}, which the driver owns`);
  }
}

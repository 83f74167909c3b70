import { InvalidConfigError } from '@corral/core';

/**
 * QEMU options the driver owns: given again in `args` they would break start, stop, status,
 * snapshots or migration (a second monitor, another pid file, daemonizing twice, a paused or
 * incoming start, another log file, configs read from or written to host files).
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
]);

/**
 * Refuses driver-owned QEMU options among the words of `args`, in every spelling QEMU accepts
 * (`-qmp` and `--qmp`; QEMU takes no `-opt=value` form, so a word like `-qmp=x` is not an
 * option and reaches QEMU as an error of its own). A word equal to such an option is refused
 * even where it would be the value of the option before it: refusing too much is safe.
 *
 * @throws InvalidConfigError (key `args`) naming the option.
 */
export function checkDriverOwnedArgs(words: readonly string[], raw: string): void {
  for (const word of words) {
    if (!word.startsWith('-')) continue;
    const name = word.startsWith('--') ? word.slice(2) : word.slice(1);
    if (DRIVER_OWNED_QEMU_OPTIONS.has(name)) {
      throw new InvalidConfigError('args', raw, `invalid value for 'args': '${word}' is set by the driver and cannot be given in 'args'`);
    }
  }
}

/**
 * Registers ava tests that need real programs (Ceph daemons, zfs-fuse...): skipped with a clear
 * title when a program is missing, but failing when `CI=true` or `CORRAL_REQUIRE_REAL=1`, so a
 * CI machine without the packages cannot pass silently.
 *
 * Local stand-in for `requireReal` of `@corral/core/testing` until that exists.
 *
 * @packageDocumentation
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';

/**
 * Absolute path of an executable `name` on `$PATH` (where `spawn` looks), or undefined.
 * Root's sbin directories must be on PATH for zfs/zpool/ceph-* to be found.
 */
export function findProgram(name: string): string | undefined {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The names in `programs` that are not found on `$PATH`. */
export function missingPrograms(programs: readonly string[]): string[] {
  return programs.filter((p) => findProgram(p) === undefined);
}

/** True when real components are mandatory: env `CI=true` or `CORRAL_REQUIRE_REAL=1`. */
export function realRequired(): boolean {
  return process.env['CI'] === 'true' || process.env['CORRAL_REQUIRE_REAL'] === '1';
}

/**
 * Registers `impl` as a serial ava test when every program in `programs` exists; otherwise
 * registers a skipped test whose title names the missing programs, or (when
 * {@link realRequired}) a test that fails with that message.
 */
export function realTest(
  title: string,
  programs: readonly string[],
  impl: (t: ExecutionContext) => Promise<void> | void,
): void {
  const missing = missingPrograms(programs);
  if (missing.length === 0) {
    test.serial(title, impl);
    return;
  }
  const why = `needs ${missing.join(', ')} (not found on PATH)`;
  if (realRequired()) {
    test(title, (t) => t.fail(`${why}; CI=true or CORRAL_REQUIRE_REAL=1 forbids skipping`));
  } else {
    test.skip(`${title} [skipped: ${why}]`, () => {});
  }
}

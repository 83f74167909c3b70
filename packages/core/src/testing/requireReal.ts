import type { ExecutionContext, Implementation, TestFn } from 'ava';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runningInCi } from './testSeeds.js';

/**
 * True when real-component tests are mandatory: in CI (`CI=true`) or with
 * `CORRAL_REQUIRE_REAL=1`. Then a missing component fails the test instead of skipping it.
 */
export function realComponentsRequired(): boolean {
  return runningInCi() || process.env.CORRAL_REQUIRE_REAL === '1';
}

/** True when `program` is an executable on PATH (or an absolute executable path). */
export function hasProgram(program: string): boolean {
  const candidates = program.includes('/') ? [program] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/**
 * Guards a test that needs real components: returns true when every check passes. Otherwise
 * it fails the test (CI or `CORRAL_REQUIRE_REAL=1`) or marks it as a clear skip (elsewhere)
 * with `reason`, and returns false; the test should then return.
 *
 * ```ts
 * test('boots', async (t) => {
 *   if (!requireReal(t, hasProgram('qemu-system-x86_64'), 'qemu-system-x86_64 is not installed')) return;
 *   ...
 * });
 * ```
 */
export function requireReal(t: ExecutionContext, available: boolean, reason: string): boolean {
  if (available) return true;
  if (realComponentsRequired()) {
    t.fail(`required real component missing: ${reason}`);
  } else {
    t.log(`SKIPPED (real component missing): ${reason}`);
    t.pass();
  }
  return false;
}

/** A test registrar returned by {@link realTest}. */
export type RealTestFn<Context = unknown> = ((title: string, implementation: Implementation<[], Context>) => void) & {
  serial: (title: string, implementation: Implementation<[], Context>) => void;
};

/**
 * Picks how to register tests that need a real component, once per file:
 * the component is there: ava's `test`; missing in CI (or `CORRAL_REQUIRE_REAL=1`): a test
 * that fails naming what is missing; missing elsewhere: `test.skip`, its title saying why
 * (ava counts it as skipped).
 *
 * ```ts
 * const qemuTest = realTest(test, hasProgram('qemu-system-x86_64'), 'qemu-system-x86_64 is not installed');
 * qemuTest('boots', async (t) => { ... });
 * ```
 */
export function realTest<Context = unknown>(test: TestFn<Context>, available: boolean, reason: string): RealTestFn<Context> {
  const make = (register: TestFn<Context> | TestFn<Context>['serial']) => (title: string, impl: Implementation<[], Context>) => {
    if (available) register(title, impl);
    else if (realComponentsRequired()) register(title, (t) => t.fail(`required real component missing: ${reason}`));
    else test.skip(`${title} (skipped: ${reason})`, impl);
  };
  return Object.assign(make(test), { serial: make(test.serial) });
}

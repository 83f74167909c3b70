import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeCommandRunner } from '@corral/core';

/** The outcome of one test of a fixture run: passed, failed, or skipped. */
export type FixtureOutcome = 'ok' | 'not ok' | 'skip';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const avaCli = join(dirname(fileURLToPath(import.meta.resolve('ava'))), 'cli.mjs');

/**
 * Runs a conformance-kit fixture (a `*.suite.ts` under test/fixtures, selected by an ava
 * config file of this package) in a child ava process with TAP output, and returns each
 * test's outcome by title (the suffix of a skipped title, ` (...)`, removed), the exit code
 * and stdout. For tests that the kit fails what it must fail.
 */
export async function runKitFixture(config: string): Promise<{ exitCode: number; stdout: string; outcome: Map<string, FixtureOutcome> }> {
  const res = await new NodeCommandRunner().run([process.execPath, avaCli, '--config', config, '--tap'], {
    cwd: packageDir,
    okExitCodes: [0, 1],
    timeoutMs: 230_000,
  });
  const outcome = new Map<string, FixtureOutcome>();
  for (const line of res.stdout.split('\n')) {
    const m = /^(ok|not ok) \d+ - (.*?)(?: # (SKIP).*)?$/.exec(line);
    if (m) outcome.set(m[3] ? m[2]!.replace(/ \([^()]*(?:\([^()]*\)[^()]*)*\)$/, '') : m[2]!, m[3] ? 'skip' : (m[1] as FixtureOutcome));
  }
  return { exitCode: res.exitCode, stdout: res.stdout, outcome };
}

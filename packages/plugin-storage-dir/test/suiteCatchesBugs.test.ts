import test from 'ava';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeCommandRunner } from '@corral/core';
import { CONFORMANCE_CHECKS, type ConformanceCheckId } from '@corral/storage-testkit';
import { PLANTED_BUGS } from './fixtures/BrokenDirDriver.js';

// The conformance suite must be able to fail: run it (in a child ava process) against a dir
// driver with planted bugs and check that exactly the checks guarding those bugs fail.
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const avaCli = join(dirname(fileURLToPath(import.meta.resolve('ava'))), 'cli.mjs');

test('the conformance suite fails a driver with planted bugs, check by check', async (t) => {
  t.timeout(240_000);
  const res = await new NodeCommandRunner().run([process.execPath, avaCli, '--config', 'ava.fixture.config.mjs', '--tap'], {
    cwd: packageDir,
    okExitCodes: [0, 1],
    timeoutMs: 230_000,
  });
  const outcome = new Map<string, boolean>();
  for (const line of res.stdout.split('\n')) {
    const m = /^(ok|not ok) \d+ - broken-dir › (.*?)(?: # .*)?$/.exec(line);
    if (m) outcome.set(m[2]!, m[1] === 'ok');
  }
  t.is(outcome.size, Object.keys(CONFORMANCE_CHECKS).length, `every check ran in the child (stdout: ${res.stdout.slice(0, 2000)})`);
  t.is(res.exitCode, 1, 'the child run fails');
  for (const [id, bug] of Object.entries(PLANTED_BUGS) as Array<[ConformanceCheckId, string]>) {
    t.is(outcome.get(CONFORMANCE_CHECKS[id]), false, `check '${id}' must catch: ${bug}`);
  }
  // Checks that none of the bugs touches keep passing: failures are specific, not a broken harness.
  for (const id of ['info', 'status', 'unknown-storage', 'protected', 'capabilities', 'upload', 'resize', 'subvol'] as const) {
    t.is(outcome.get(CONFORMANCE_CHECKS[id]), true, `check '${id}' is unaffected by the planted bugs`);
  }
});

import test from 'ava';
import { CONFORMANCE_CHECKS, type ConformanceCheckId } from '@corral/storage-testkit';
import { PLANTED_BUGS } from './fixtures/BrokenDirDriver.js';
import { runKitFixture } from './support/runKitFixture.js';

// The conformance suite must be able to fail: run it (in a child ava process) against a dir
// driver with planted bugs and check that exactly the checks guarding those bugs fail.
test('the conformance suite fails a driver with planted bugs, check by check', async (t) => {
  t.timeout(240_000);
  const res = await runKitFixture('ava.fixture.config.mjs');
  const outcome = new Map<string, boolean>();
  for (const [title, result] of res.outcome) if (title.startsWith('broken-dir › ')) outcome.set(title.slice('broken-dir › '.length), result === 'ok');
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

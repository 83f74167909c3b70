import test from 'ava';
import { CONFORMANCE_CHECKS, NO_ALLOCATION_CHECK } from '@corral/storage-testkit';
import { runKitFixture } from './support/runKitFixture.js';

// The kit's `cannotAllocate` declaration must be a claim it checks, not a way out: run it (in
// a child ava process) against dir drivers that cannot allocate without saying so, that claim
// it falsely, and that declare it truly, and check which conformance tests fail.
test('the kit fails a driver that cannot allocate without declaring it, and a false declaration; a true one passes', async (t) => {
  t.timeout(240_000);
  const res = await runKitFixture('ava.declarations.config.mjs');
  const outcome = res.outcome;
  const get = (suite: string, title: string) => outcome.get(`${suite} › ${title}`);
  t.is(res.exitCode, 1, `the child run fails (stdout: ${res.stdout.slice(0, 1500)})`);
  t.is(get('undeclared', CONFORMANCE_CHECKS.allocate), 'not ok', 'allocation is expected unless declared otherwise');
  t.is(get('undeclared', CONFORMANCE_CHECKS.info), 'ok');
  t.is(get('false-claim', NO_ALLOCATION_CHECK), 'not ok', 'a driver that can allocate fails the declaration check');
  t.is(get('false-claim', CONFORMANCE_CHECKS.allocate), 'skip');
  t.is(get('declared', NO_ALLOCATION_CHECK), 'ok');
  t.is(get('declared', CONFORMANCE_CHECKS.info), 'ok', 'info of a declared driver does not demand a raw+size import');
  t.is(get('declared', CONFORMANCE_CHECKS.allocate), 'skip');
  t.is(get('declared', CONFORMANCE_CHECKS.capabilities), 'skip');
});

import test from 'ava';
import { SeededRandom } from '../../src/testing/SeededRandom.js';
import { testSeeds } from '../../src/testing/testSeeds.js';

const options = { env: 'CORRAL_X_SEED', fixed: [1, 2] };

test('in CI (CI=true) only the fixed seeds run, and the summary names them', (t) => {
  const { seeds, summary } = testSeeds(options, { CI: 'true' });
  t.deepEqual(seeds, [1, 2]);
  t.is(summary, 'seeds 1, 2 (fixed, CI); CORRAL_X_SEED=<seed> replays one');
});

test('outside CI one random extra seed follows the fixed ones, and is printed', (t) => {
  for (const env of [{}, { CI: 'false' }, { CI: '1' }]) {
    const { seeds, summary } = testSeeds(options, env);
    t.is(seeds.length, 3);
    t.deepEqual(seeds.slice(0, 2), [1, 2]);
    const extra = seeds[2]!;
    t.true(Number.isInteger(extra) && extra >= 0 && extra < 2 ** 32 && extra !== 1 && extra !== 2);
    t.is(summary, `seeds 1, 2 (fixed), ${extra} (random, outside CI); CORRAL_X_SEED=<seed> replays one`);
  }
});

test('the replay variable runs that one seed, in CI too; a bad one is a coded error', (t) => {
  t.deepEqual(testSeeds(options, { CI: 'true', CORRAL_X_SEED: '4294967295' }).seeds, [4294967295]);
  t.deepEqual(testSeeds(options, { CORRAL_X_SEED: '7' }), { seeds: [7], summary: 'seed 7 (from CORRAL_X_SEED)' });
  for (const bad of ['x', '-1', '1.5', '4294967296', ' 3']) {
    t.throws(() => testSeeds(options, { CORRAL_X_SEED: bad }), { code: 'CORRAL_ERR_INVALID_ARGUMENT', message: /CORRAL_X_SEED must be an integer/ }, bad);
  }
  t.throws(() => testSeeds({ env: 'CORRAL_X_SEED', fixed: [] }, {}), { code: 'CORRAL_ERR_INVALID_ARGUMENT' });
});

test('SeededRandom: the same seed gives the same numbers and bytes, another seed others', (t) => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const seq = Array.from({ length: 5 }, () => a.next());
  t.deepEqual(Array.from({ length: 5 }, () => b.next()), seq);
  t.true(seq.every((x) => x >= 0 && x < 1));
  t.deepEqual(new SeededRandom(7).bytes(1027), new SeededRandom(7).bytes(1027));
  t.notDeepEqual(new SeededRandom(7).bytes(64), new SeededRandom(8).bytes(64));
  t.is(new SeededRandom(7).bytes(1027).length, 1027);
});

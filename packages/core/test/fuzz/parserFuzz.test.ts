/**
 * Seeded fuzz test of every Proxmox text parser and serializer in core: property strings (the
 * untyped parser and every typed format), guest `.conf` files (qemu and lxc, with pending,
 * special and snapshot sections; as text and as models built in code), `storage.cfg` (as text
 * and as models) and volume ids. The cases and properties are in `runParserFuzz.ts`:
 *
 * (a) nothing but a coded `CorralError` escapes a parser, serializer or validator;
 * (b) what is accepted reads back the same: parse → serialize → parse gives an equal model and
 *     serializing again gives the same text; a model the serializer accepts parses back;
 * (c) every call ends within a small bound (a backtracking pattern does not).
 *
 * `CORRAL_FUZZ_SEED` reproduces a run (the seed is printed), `CORRAL_FUZZ_CASES` changes the
 * number of cases (default 100 000), `CORRAL_FUZZ_MAX_MS` the bound of one call (default 250;
 * a call over it is run twice more and fails only when it is over every time).
 */
import test from 'ava';
import { runParserFuzz } from './runParserFuzz.js';

test('parsers and serializers survive seeded fuzzing: coded errors only, round trips, bounded time', (t) => {
  const seed = process.env.CORRAL_FUZZ_SEED ? Number(process.env.CORRAL_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const cases = process.env.CORRAL_FUZZ_CASES ? Number(process.env.CORRAL_FUZZ_CASES) : 100_000;
  const maxMs = process.env.CORRAL_FUZZ_MAX_MS ? Number(process.env.CORRAL_FUZZ_MAX_MS) : 250;
  const { run, perTarget, seconds } = runParserFuzz({ seed, cases, maxMs });
  const summary =
    `parser fuzz: seed ${seed} (CORRAL_FUZZ_SEED=${seed} reproduces), ${run.cases} cases, ${run.calls} calls in ${seconds.toFixed(1)} s; ` +
    `slowest call ${run.slowestMs.toFixed(1)} ms (${run.slowestLabel}); ${[...perTarget].map(([k, v]) => `${k} ${v}`).join(', ')}`;
  t.log(summary);
  const kinds = [...run.kinds].map(([k, v]) => `${v}× ${k}`).join('\n');
  t.deepEqual(run.failures, [], `seed ${seed}: failures by kind:\n${kinds}`);
});

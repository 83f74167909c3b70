/**
 * Seeded fuzz test of every Proxmox text parser and serializer in core: property strings (the
 * untyped parser and every typed format), guest `.conf` files (qemu and lxc, with pending,
 * special and snapshot sections; as text and as models built in code), `storage.cfg` (as text
 * and as models) and volume ids. The cases and properties are in `runParserFuzz.ts`:
 *
 * (a) nothing but a coded `CorralError` escapes a parser, serializer or validator;
 * (b) what is accepted reads back the same: parse → serialize → parse gives an equal model and
 *     serializing again gives the same text; a model the serializer accepts parses back;
 * (c) enough inputs are accepted to make (b) mean something: per subject, a floor of the
 *     inputs that went through the round-trip checks (a parser that rejects everything fails).
 *
 * Seeds follow `testSeeds`: CI runs the fixed seed, other runs add a random one (both printed);
 * `CORRAL_FUZZ_SEED` replays one. `CORRAL_FUZZ_CASES` changes the number of cases per seed
 * (default 100 000). How long a call may take is the parser-safety benchmark's business
 * (`bench/parser-safety.mjs`), not this test's.
 */
import test from 'ava';
import { seedsFor } from '../../src/testing/testSeeds.js';
import { runParserFuzz, TARGETS } from './runParserFuzz.js';

/** The seed CI runs. */
const FIXED_SEEDS = [1];

/**
 * Per round-trip subject: its target and the least share of that target's cases that must
 * reach the round-trip checks. Set to about half of what seed 1 reaches with 100 000 cases
 * (in brackets), so that only a parser or generator that starts refusing valid input fails.
 */
const FLOORS: ReadonlyArray<readonly [subject: string, target: string, share: number]> = [
  ['property string (untyped)', 'property strings', 0.07], // [0.140]
  ...[
    'agent', 'boot', 'cpu', 'device', 'features', 'hostpci', 'ipconfig', 'lxc net', 'machine', 'memory', 'meta', 'mount point', 'numa',
    'qemu efidisk', 'qemu ide drive', 'qemu net', 'qemu scsi drive', 'qemu virtio drive', 'rootfs', 'smbios1', 'startup', 'usb', 'vga',
  ].map((format) => [`property string (${format})`, 'property strings', 0.002] as const), // [0.0042 to 0.011 each]
  ['qemu conf', 'guest .conf text', 0.05], // [0.115]
  ['lxc conf', 'guest .conf text', 0.05], // [0.112]
  ['qemu document', 'guest .conf text', 0.05], // [0.115]
  ['lxc document', 'guest .conf text', 0.05], // [0.112]
  ['qemu model', 'guest config models', 0.06], // [0.132]
  ['lxc model', 'guest config models', 0.07], // [0.157]
  ['storage.cfg (lenient reader)', 'storage.cfg text', 0.99], // [1.000: it reads every file]
  ['storage.cfg', 'storage.cfg text', 0.2], // [0.431]
  ['storage model', 'storage.cfg models', 0.15], // [0.295]
  ['volume id', 'volume ids', 0.27], // [0.557]
];

test('the floors name every fuzz target and nothing else', (t) => {
  const targets = new Set(TARGETS.map(([name]) => name));
  t.deepEqual(new Set(FLOORS.map(([, target]) => target)), targets);
});

test('parsers and serializers survive seeded fuzzing: coded errors only, round trips, a floor of accepted inputs per subject', (t) => {
  t.timeout(600_000); // about 30 s per seed on a loaded 2-core machine; a hang guard, not a bound
  const cases = process.env.CORRAL_FUZZ_CASES ? Number(process.env.CORRAL_FUZZ_CASES) : 100_000;
  for (const seed of seedsFor(t, { env: 'CORRAL_FUZZ_SEED', fixed: FIXED_SEEDS })) {
    const { run, perTarget, seconds } = runParserFuzz({ seed, cases });
    t.log(
      `seed ${seed} (CORRAL_FUZZ_SEED=${seed} replays it): ${run.cases} cases, ${run.calls} calls in ${seconds.toFixed(1)} s; ` +
        `cases per target: ${[...perTarget].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    t.log(`round trips checked: ${[...run.roundTrips].sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const kinds = [...run.kinds].map(([k, v]) => `${v}× ${k}`).join('\n');
    t.deepEqual(run.failures, [], `seed ${seed}: failures by kind:\n${kinds}`);
    const belowFloor = FLOORS.flatMap(([subject, target, share]) => {
      const floor = Math.ceil(share * (perTarget.get(target) ?? 0));
      const checked = run.roundTrips.get(subject) ?? 0;
      return checked >= floor ? [] : [`${subject}: ${checked} round trips checked, floor ${floor} (${share} of ${perTarget.get(target) ?? 0} ${target} cases)`];
    });
    t.deepEqual(belowFloor, [], `seed ${seed}: too few accepted inputs`);
  }
});

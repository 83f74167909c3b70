// Benchmark: the parsers on the inputs that once made their patterns backtrack for seconds.
// Tests assert what the parsers answer; this script owns how long they take.
//   node bench/parser-safety.mjs        (after `npx tsc -b packages/core`)
// Prints one JSON line per figure: {metric, value, unit, note}, and exits 1 when one is over
// its bound (a backtracking pattern is slow on every run, a pause of a busy machine on one:
// each figure is the fastest of three runs).
//   (a) parseGuestConfig (qemu and lxc) on the adversarial config lines, bound 50 ms each;
//   (b) readSectionConfig on the adversarial storage.cfg texts, bound 50 ms each, and on a file
//       of 300,000 broken parts, bound 2 s;
//   (c) validateQemuConfig on the adversarial values, bound 50 ms each;
//   (d) every regular expression of the parsers on long runs of separators, bound 100 ms each;
//   (e) the parser fuzz driver (BENCH_FUZZ_CASES cases, default 20,000, seed BENCH_FUZZ_SEED,
//       default 1) with a bound of 250 ms per call.
const dist = new URL('../packages/core/dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const { parseGuestConfig } = await load('src/formats/guestConfig.js');
const { readSectionConfig } = await load('src/formats/sectionConfig.js');
const { validateQemuConfig } = await load('src/formats/schema/qemuConfig.js');
const { GUEST_CONFIG_ADVERSARIAL, SECTION_CONFIG_ADVERSARIAL, MANY_BROKEN_SECTIONS, SCHEMA_ADVERSARIAL, patternAdversarialInputs } = await load(
  'test/support/adversarialInputs.js',
);
const { findParserPatterns } = await load('test/support/parserPatterns.js');
const { fastestRunMs } = await load('test/support/fastestRun.js');
const { runParserFuzz } = await load('test/fuzz/runParserFuzz.js');

const emit = (o) => console.log(JSON.stringify(o));
const round = (x) => Math.round(x * 100) / 100;
const over = [];

/** Emits the slowest of `timings` ([label, ms]) as `metric`, recording those over `boundMs`. */
function report(metric, timings, boundMs) {
  const [label, ms] = timings.reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);
  for (const [l, m] of timings) if (m > boundMs) over.push(`${metric}: ${l}: ${Math.round(m)} ms (bound ${boundMs} ms)`);
  emit({ metric, value: round(ms), unit: 'ms', note: `slowest of ${timings.length} (${label}); bound ${boundMs} ms` });
}

report(
  'parse_guest_config_adversarial_max_ms',
  GUEST_CONFIG_ADVERSARIAL.flatMap((row) => ['qemu', 'lxc'].map((type) => [`${type}: ${row.description}`, fastestRunMs(() => parseGuestConfig(row.input, { type }))])),
  50,
);
report(
  'read_section_config_adversarial_max_ms',
  SECTION_CONFIG_ADVERSARIAL.map((row) => [row.description, fastestRunMs(() => readSectionConfig(row.input))]),
  50,
);
report('read_section_config_300k_broken_parts_ms', [['300,000 broken parts', fastestRunMs(() => readSectionConfig(MANY_BROKEN_SECTIONS), 2)]], 2000);
report(
  'validate_qemu_config_adversarial_max_ms',
  SCHEMA_ADVERSARIAL.map((row) => [row.description, fastestRunMs(() => validateQemuConfig({ [row.key]: row.input }))]),
  50,
);

const { found } = findParserPatterns();
const inputs = patternAdversarialInputs();
const patternTimings = [];
for (const p of found) {
  const re = new RegExp(p.source, p.flags.replace('g', ''));
  let worst = ['', 0];
  for (const input of inputs) {
    const ms = fastestRunMs(() => re.test(input));
    if (ms > worst[1]) worst = [`${p.where} on ${JSON.stringify(input.slice(0, 8))}×${input.length}`, ms];
  }
  patternTimings.push(worst);
}
report('parser_pattern_adversarial_max_ms', patternTimings, 100);

const seed = Number(process.env.BENCH_FUZZ_SEED ?? 1);
const cases = Number(process.env.BENCH_FUZZ_CASES ?? 20_000);
const { run } = runParserFuzz({ seed, cases, maxMs: 250 });
const slow = run.failures.filter((f) => / took \d+ ms \(bound/.test(f));
over.push(...slow.map((f) => `parser fuzz (seed ${seed}): ${f}`));
emit({ metric: 'parser_fuzz_slowest_call_ms', value: round(run.slowestMs), unit: 'ms', note: `${run.slowestLabel}; seed ${seed}, ${cases} cases, ${run.calls} calls; bound 250 ms` });

if (over.length > 0) {
  console.error(`over the bound:\n${over.join('\n')}`);
  process.exit(1);
}

/**
 * No regular expression of a parser backtracks on user input.
 *
 * Every regular expression of the parser modules (core's formats, volume ids, storage.cfg,
 * UPIDs and task users, guest documents, the command runner; the kvm and lxc config parsers;
 * the storage plugins' volume-name parsers) is found in their source with the TypeScript
 * parser, every `pattern` of core's config schemas is collected at run time, and each is
 * checked with recheck (its pure JavaScript backend): it must be safe, neither exponential nor
 * polynomial. The checker's verdict is checked against the old `runningcpu` pattern. How long
 * each pattern takes on long adversarial inputs is measured by `bench/parser-safety.mjs`.
 */
import test from 'ava';
import { checkSync } from 'recheck';
import * as core from '../../src/index.js';
import { findParserPatterns } from '../support/parserPatterns.js';

// recheck's pure JavaScript checker, in this process (no native binary, no Java, no worker).
process.env.RECHECK_SYNC_BACKEND = 'pure';

function verdict(source: string, flags: string): { status: string; complexity?: string; attack?: string } {
  // The automaton checker proves its verdict (and is the fast one here); the fuzzing checker
  // only for what it cannot model.
  let result = checkSync(source, flags, { timeout: 20_000, checker: 'automaton' });
  if (result.status === 'unknown') result = checkSync(source, flags, { timeout: 20_000, randomSeed: 1 });
  return {
    status: result.status,
    complexity: result.status === 'vulnerable' ? result.complexity.type : undefined,
    attack: result.status === 'vulnerable' ? result.attack.pattern : undefined,
  };
}

const { found, unresolved } = findParserPatterns();

test('the ReDoS checker finds the old runningcpu pattern (exponential) and passes its replacement', (t) => {
  const old = verdict('^(?:(?:[+-]?[\\w\\-._=]+,?)+)$', '');
  t.is(old.status, 'vulnerable');
  t.is(old.complexity, 'exponential');
  const current = (core.QEMU_CONFIG_KEYS.runningcpu.schema as unknown as { pattern: string }).pattern;
  t.is(verdict(current, '').status, 'safe');
});

test('the ReDoS checker finds the old polynomial guest config line pattern', (t) => {
  const old = verdict('^([a-z][a-z_-]*\\d*):\\s*(.+?)\\s*$', '');
  t.is(old.status, 'vulnerable');
  t.is(old.complexity, 'polynomial');
});

test('every regular expression of the parsers can be checked', (t) => {
  t.deepEqual(unresolved, [], 'new RegExp(...) built from something other than literals and string constants');
  t.true(found.length > 80, `found ${found.length} patterns`);
});

test('no regular expression of the parsers backtracks (recheck: neither exponential nor polynomial)', (t) => {
  const unsafe: string[] = [];
  for (const p of found) {
    const v = verdict(p.source, p.flags);
    if (v.status !== 'safe') unsafe.push(`${p.where}: /${p.source}/${p.flags} is ${v.status}${v.complexity ? ` (${v.complexity}, attack ${v.attack})` : ''}`);
  }
  t.log(`${found.length} patterns checked`);
  t.deepEqual(unsafe, []);
});

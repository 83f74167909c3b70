#!/usr/bin/env node
// Runs every ava test (on tsc -b output) and ends with one line: `N passed, N failed[, N skipped]`.
// Extra arguments go to ava (file globs, --match). Exit code: 0 only when nothing failed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ava = spawn(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', '--tap', ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: process.env,
});

const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
const summary = {};
const lines = createInterface({ input: ava.stdout });
lines.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const m = /^# (tests|pass|fail|skip|todo) (\d+)$/.exec(line);
  if (m) summary[m[1]] = Number(m[2]);
  else if (/^not ok \d+/.test(line)) counts.fail++;
  else if (/^ok \d+ .*# SKIP/.test(line)) counts.skip++;
  else if (/^ok \d+ .*# TODO/.test(line)) counts.todo++;
  else if (/^ok \d+/.test(line)) counts.pass++;
});

ava.on('close', (code) => {
  const passed = summary.pass ?? counts.pass;
  const skipped = summary.skip ?? counts.skip;
  // ava reports uncaught exceptions and timeouts as failures of their own; count them if the summary lacks them.
  let failed = summary.fail ?? counts.fail;
  if (code !== 0 && failed === 0) failed = 1;
  const total = passed + failed + skipped;
  if (total === 0) {
    console.log('0 passed, 1 failed');
    console.error('no test ran');
    process.exit(1);
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 ? 1 : 0);
});

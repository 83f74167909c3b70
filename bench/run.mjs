#!/usr/bin/env node
// Runs every benchmark script in bench/ (each prints JSON lines {metric, value, unit, baseline?, note?})
// and writes bench/results.json plus a readable table (bench/results.md, also printed).
// Usage: node bench/run.mjs [name-filter]
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'))
  .filter((f) => !filter || f.includes(filter))
  .sort();

const results = [];
for (const script of scripts) {
  process.stderr.write(`bench: ${script}\n`);
  const run = spawnSync(process.execPath, [join(here, script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 });
  for (const line of run.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      results.push({ script, ...JSON.parse(line) });
    } catch {
      // not a result line
    }
  }
  if (run.status !== 0) results.push({ script, metric: `${script}:failed`, value: run.status, unit: 'exit code' });
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
const out = { date: new Date().toISOString(), machine, results };
writeFileSync(join(here, 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : String(v ?? ''));
// Absolute overhead over the raw tool and the load average of the run, where a script reports them.
const noteOf = (r) => [r.note, r.overheadMs === undefined ? '' : `overhead ${fmt(r.overheadMs)} ms`, r.loadavg ? `load ${r.loadavg.join(' ')}` : ''].filter(Boolean).join('; ');
const rows = results.map((r) => `| ${r.metric} | ${fmt(r.value)} | ${r.unit ?? ''} | ${r.baseline === undefined ? '' : fmt(r.baseline)} | ${noteOf(r)} |`);
const table = [`Machine: ${machine} (${out.date.slice(0, 10)})`, '', '| metric | value | unit | raw baseline | note |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
writeFileSync(join(here, 'results.md'), `${table}\n`);
console.log(table);

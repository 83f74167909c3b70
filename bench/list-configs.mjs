#!/usr/bin/env node
// Benchmark: list and parse 1,000 guest configs from a LocalConfigStore (the hot path of a
// guest listing). Writes 1,000 realistic qemu-server configs into a private temp store,
// warms the cache, then times `readAll` + parse 20 times and prints the median as
// {"metric":"list_1000_configs_ms","value":<ms>,"unit":"ms"} on stdout (details on stderr).
// Parsing uses core's `parseGuestConfig` when the formats module is built, else a plain
// `key: value` split. Run after `npx tsc -b packages/core`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const core = await import(new URL('../packages/core/dist/src/index.js', import.meta.url).href);
const { LocalConfigStore } = core;

let parse = (text) => {
  const out = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) break;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
};
let parser = 'key: value split';
if (typeof core.parseGuestConfig === 'function') {
  parse = (text) => core.parseGuestConfig(text, { type: 'qemu' });
  parser = 'parseGuestConfig';
}

const COUNT = 1000;
const RUNS = 20;
const dir = 'nodes/bench/qemu-server';

function guestConfig(vmid) {
  const mac = `BC:24:11:${((vmid >> 16) & 255).toString(16).padStart(2, '0')}:${((vmid >> 8) & 255).toString(16).padStart(2, '0')}:${(vmid & 255).toString(16).padStart(2, '0')}`.toUpperCase();
  return [
    `#VM ${vmid}: bench guest`,
    'agent: 1',
    'boot: order=scsi0;ide2;net0',
    'cores: 2',
    'cpu: x86-64-v2-AES',
    'ide2: none,media=cdrom',
    'memory: 2048',
    `meta: creation-qemu=8.1.5,ctime=${1700000000 + vmid}`,
    `name: vm${vmid}`,
    `net0: virtio=${mac},bridge=vmbr0,firewall=1`,
    'numa: 0',
    'ostype: l26',
    `scsi0: local-lvm:vm-${vmid}-disk-0,iothread=1,size=32G`,
    'scsihw: virtio-scsi-single',
    `smbios1: uuid=00000000-0000-4000-8000-${String(vmid).padStart(12, '0')}`,
    'sockets: 1',
    `vmgenid: 00000000-0000-4000-8000-${String(vmid).padStart(12, '1')}`,
    '',
  ].join('\n');
}

const root = mkdtempSync(join(tmpdir(), 'corral-bench-'));
try {
  const store = new LocalConfigStore({ root, fsync: false });
  for (let i = 0; i < COUNT; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => store.write(`${dir}/${100 + i + j}.conf`, guestConfig(100 + i + j))));
  }
  await sleep(150); // let the fresh files leave the cache's racy window

  const listAndParse = async () => {
    const files = await store.readAll(dir, '.conf');
    const parsed = files.map((f) => parse(f.content));
    if (parsed.length !== COUNT) throw new Error(`expected ${COUNT} configs, got ${parsed.length}`);
    return parsed;
  };
  const c0 = performance.now();
  await listAndParse();
  const cold = performance.now() - c0;
  for (let i = 0; i < 3; i++) await listAndParse();

  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await listAndParse();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = (times[RUNS / 2 - 1] + times[RUNS / 2]) / 2;

  const readTimes = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await store.readAll(dir, '.conf');
    readTimes.push(performance.now() - t0);
  }
  readTimes.sort((a, b) => a - b);

  // After a change, readAll falls back to one stat per file (plus reading the changed file).
  const changedTimes = [];
  for (let i = 0; i < 10; i++) {
    await store.write(`${dir}/100.conf`, guestConfig(100) + `tags: run${i}\n`);
    const t0 = performance.now();
    await store.readAll(dir, '.conf');
    changedTimes.push(performance.now() - t0);
  }
  changedTimes.sort((a, b) => a - b);
  process.stderr.write(
    `list-configs: ${COUNT} configs, parser ${parser}; first (cold cache) ${cold.toFixed(1)} ms; ` +
      `warm readAll+parse median ${median.toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[RUNS - 1].toFixed(1)}); ` +
      `readAll alone median ${readTimes[RUNS / 2].toFixed(2)} ms; readAll right after a write median ${changedTimes[5].toFixed(1)} ms\n`,
  );
  process.stdout.write(`${JSON.stringify({ metric: 'list_1000_configs_ms', value: Number(median.toFixed(2)), unit: 'ms' })}\n`);
} finally {
  rmSync(root, { recursive: true, force: true });
}

#!/usr/bin/env node
/**
 * The README's quick start: `node examples/quickstart/dist/src/demo.js [dataDir]`. Runs
 * {@link runQuickstart} with a progress line per step, then prints what happened with timings
 * and task ids. Ctrl-C stops every guest the demo started (no orphan QEMU or container).
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeCommandRunner, type Kernel } from '@corral/core';
import { CLONE_ID, CT_ID, openDemoKernel, runQuickstart, VM_ID } from './quickstart.js';
import { ProgressLine } from './ProgressLine.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const dataDir = resolve(process.argv[2] ?? join(repo, 'data'));
const runDir = join(dataDir, 'run');
const cache = process.env.CORRAL_CACHE_DIR ?? join(repo, '.cache');

async function buildImages(): Promise<{ guest: { kernel: string; initrd: string; cmdline: string }; containerTemplate: string }> {
  const runner = new NodeCommandRunner();
  await runner.run(['bash', join(repo, 'packages/plugin-kvm/scripts/build-test-guest.sh')], { timeoutMs: 600_000 });
  await runner.run(['bash', join(repo, 'packages/plugin-lxc/scripts/build-busybox-template.sh')], { timeoutMs: 600_000 });
  const manifest = JSON.parse(await readFile(join(cache, 'test-guest', 'manifest.json'), 'utf8')) as { kernel: string; initrd: string; cmdline: string };
  const containerTemplate = join(cache, 'lxc', 'busybox.tar.gz');
  if (!existsSync(containerTemplate)) throw new Error(`container template missing: ${containerTemplate}`);
  return { guest: manifest, containerTemplate };
}

async function stopEverything(kernel: Kernel): Promise<void> {
  for (const g of await kernel.guests.list().catch(() => [])) {
    if ([VM_ID, CLONE_ID, CT_ID].includes(g.vmid) && g.status !== 'stopped') await kernel.guests.stop(g.vmid).catch(() => undefined);
  }
}

async function main(): Promise<number> {
  const progress = new ProgressLine(process.stdout);
  console.log(`Corral quick start: data in ${dataDir}`);
  const images = await progress.step('build the test guest and container template (cached)', buildImages);
  const kernel = await progress.step('start a Corral node (dir storage, local config store)', () => openDemoKernel({ dataDir, runDir }));
  const abort = new AbortController();
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    progress.note('interrupted: stopping the demo guests...');
    abort.abort();
  });
  try {
    const report = await runQuickstart(kernel, { dataDir, runDir, ...images, step: progress.step.bind(progress), signal: abort.signal });
    console.log('\nVM 100 console (the guest itself):');
    for (const line of report.consoleLines) console.log(`  | ${line}`);
    console.log(`\nContainer 200 says: ${report.containerSays}`);
    console.log(`VM 100 snapshots before it became a template: ${report.snapshots.join(', ')}`);
    console.log('VM 101 (linked clone of 100) console:');
    for (const line of report.cloneConsoleLines.filter((l) => /BOOTED|DISK |READY/.test(l))) console.log(`  | ${line}`);
    console.log('\nTasks:');
    for (const [what, upid] of Object.entries(report.upids)) console.log(`  ${what.padEnd(18)} ${upid}`);
    console.log('\nGuests now:');
    for (const g of await kernel.guests.list()) console.log(`  ${g.vmid} ${g.type.padEnd(5)} ${(g.name ?? '').padEnd(12)} ${g.template ? 'template' : g.status}`);
    console.log(`\nDone in ${progress.totalSeconds().toFixed(1)} s. Run it again: it cleans up and starts over.`);
    return 0;
  } catch (err) {
    await stopEverything(kernel);
    if (interrupted) return 130;
    progress.fail(err);
    return 1;
  } finally {
    await kernel.dispose();
  }
}

process.exitCode = await main();

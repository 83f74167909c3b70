/**
 * Two real processes on one data dir (a daemon and a CLI, two workers) race for the same
 * guest and storage. With the kernel's default lock manager (host-wide) every race below is
 * serialized; with the old in-process default each of them corrupted state.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kernel } from '@corral/core';
import { hasProgram, realTest } from '@corral/core/testing';
import { fillWithData, openTestNode, tinyVmConfig } from './support/nodeKernel.js';
import { freeze, race, resultLines, resume, spawnRaceChild } from './support/raceChildren.js';

const qemuTest = realTest(test, hasProgram('qemu-system-x86_64') && hasProgram('qemu-img'), 'qemu-system-x86_64 and qemu-img are not installed');

/** Every volume on `local` for `vmid` and every volume the config references: they must be the same set. */
async function volumeSets(kernel: Kernel, vmid: number): Promise<{ onStorage: string[]; inConfig: string[] }> {
  const onStorage = (await kernel.storage.listVolumes('local', { vmid })).map((v) => v.volid).sort();
  const { config } = await kernel.guests.config(vmid);
  const inConfig = Object.entries(config)
    .filter(([k]) => /^(scsi\d+|unused\d+)$/.test(k))
    .map(([, v]) => v.split(',')[0]!)
    .sort();
  return { onStorage, inConfig };
}

test.serial('two processes allocating volumes for one vmid at once get distinct volumes, all of which exist', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-race-');
  const [a, b] = await race(t, base, [
    { op: 'allocate', vmid: 100, count: 15 },
    { op: 'allocate', vmid: 100, count: 15 },
  ]);
  const volids = [...a!, ...b!].map((l) => {
    t.true(l.startsWith('ok '), l);
    return JSON.parse(l.slice(3)) as string;
  });
  t.is(new Set(volids).size, 30, 'no volume id handed out twice');
  const listed = (await kernel.storage.listVolumes('local', { vmid: 100 })).map((v) => v.volid);
  t.deepEqual(listed.sort(), [...volids].sort());
});

test.serial('two processes adding the same disk key at once: the loser never frees the winner disk, and no volume is orphaned', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-race-');
  await kernel.guests.create('qemu', tinyVmConfig(), { vmid: 100 });
  const results = await race(t, base, [
    { op: 'adddisk', vmid: 100, count: 6, arg: '1' },
    { op: 'adddisk', vmid: 100, count: 6, arg: '1' },
  ]);
  for (const line of results.flat()) t.true(line.startsWith('ok '), line);
  const { onStorage, inConfig } = await volumeSets(kernel, 100);
  t.deepEqual(inConfig, onStorage, 'the config names exactly the volumes that exist');
  for (const volid of inConfig) {
    const path = (await kernel.storage.resolve(volid, { consumer: 'host' })) as { path: string };
    t.true(existsSync(path.path), `${volid} exists`);
  }
  // 1 initial disk + 12 adds: each add either creates scsiN or replaces it (the old one becomes unusedN).
  t.is(onStorage.length, 13);
});

test.serial('update without a digest from two processes at once: last writer wins, nothing is refused', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-race-');
  await kernel.guests.create('qemu', tinyVmConfig(), { vmid: 100 });
  const results = await race(t, base, [
    { op: 'update', vmid: 100, count: 25 },
    { op: 'update', vmid: 100, count: 25 },
  ]);
  const refused = results.flat().filter((l) => !l.startsWith('ok '));
  t.deepEqual(refused, []);
  const tasks = await kernel.tasks.list({ limit: 200, type: 'qmconfig' });
  t.is(tasks.filter((x) => x.status === 'ok').length, 50);
  // The children logged each grant of guest:100 while holding it: the log is the grant order.
  const grants = (await readFile(join(base, 'guest-lock-grants.log'), 'utf8')).split('\n').filter((l) => l !== '');
  t.is(new Set(grants).size, 50, 'every update took the guest lock');
  t.is(new Set(grants.map((g) => g.split('-')[0])).size, 2, 'both processes wrote');
  const last = grants.at(-1)!;
  t.is((await kernel.guests.config(100)).config.description, last, `the value written under the last grant (${last}) won`);
});

qemuTest.serial('two processes starting one VM at once: one starts it, the other is told it runs; it keeps running', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-race-');
  await kernel.guests.create('qemu', tinyVmConfig(), { vmid: 100 });
  for (let round = 0; round < 3; round++) {
    const [a, b] = await race(t, base, [
      { op: 'start', vmid: 100, count: 1 },
      { op: 'start', vmid: 100, count: 1 },
    ]);
    const lines = [...a!, ...b!].sort();
    t.is(lines.filter((l) => l.startsWith('ok ')).length, 1, lines.join(' | '));
    t.regex(lines.find((l) => l.startsWith('err '))!, /^err CORRAL_ERR_INVALID_STATE guest 100 is running: cannot start/);
    await sleep(300);
    const status = await kernel.guests.status(100);
    t.is(status.state, 'running', `round ${round}: the VM still runs`);
    t.true(status.pid !== undefined && existsSync(`/proc/${status.pid}`));
    await kernel.guests.stop(100);
  }
});

qemuTest.serial('a full clone holds the source: a destroy from another process waits and times out, the clone completes', async (t) => {
  const { base, kernel } = await openTestNode(t, 'corral-race-');
  await kernel.guests.create('qemu', tinyVmConfig({ scsi0: 'local:0.5,format=raw' }), { vmid: 100 });
  // Real data, so the copy takes a moment (zeros would be skipped).
  const src = (await kernel.storage.resolve((await kernel.guests.config(100)).config.scsi0!.split(',')[0]!, { consumer: 'host' })) as { path: string };
  await fillWithData(src.path, 512 * 1024 * 1024);

  const cloner = spawnRaceChild(base, { op: 'clone', vmid: 100, count: 1, arg: '101' });
  const destroyer = spawnRaceChild(base, { op: 'destroy', vmid: 100, count: 1, arg: '300' });
  t.teardown(() => [cloner, destroyer].forEach((c) => (resume(c), c.kill())));
  await Promise.all([cloner.waitFor(/^ready$/, 20_000), destroyer.waitFor(/^ready$/, 20_000)]);
  cloner.send('go');
  // Wait until the clone runs (its config exists with lock: clone), then freeze the cloner
  // there, holding the source's lock, however fast its copy is, and try to destroy the source.
  for (let i = 0; i < 2000 && (await kernel.guests.config(101).catch(() => undefined))?.config.lock !== 'clone'; i++) await sleep(5);
  freeze(cloner);
  t.is((await kernel.guests.config(101)).config.lock, 'clone', 'the cloner was frozen inside the clone');
  destroyer.send('go');
  await destroyer.waitFor(/^done$/, 60_000);
  const destroyed = resultLines(destroyer)[0]!;
  t.regex(destroyed, /^err CORRAL_ERR_LOCK_TIMEOUT .*guest:100/);
  resume(cloner);
  await cloner.waitFor(/^done$/, 120_000);
  const cloned = resultLines(cloner)[0]!;
  t.true(cloned.startsWith('ok '), cloned);
  t.is((await kernel.guests.config(100)).vmid, 100, 'the source still exists');
  const copy = (await kernel.guests.config(101)).config;
  t.false('lock' in copy);
  const { onStorage } = await volumeSets(kernel, 101);
  t.is(onStorage.length, 1);
  await kernel.guests.destroy(101);
  await kernel.guests.destroy(100);
  await rm(join(base, 'store'), { recursive: true, force: true });
});

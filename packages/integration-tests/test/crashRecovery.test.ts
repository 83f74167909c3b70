/**
 * Crash recovery: a process is SIGKILLed at a random moment of a create, a full clone or a
 * snapshot with RAM state (at least 30 kills in all). After each kill a new kernel on the same
 * data dir removes stale temp files, `unlock` repairs what the interrupted operation left
 * (the VM paused by a RAM snapshot runs again and takes the next RAM snapshot), `rescan` makes
 * orphaned volumes `unusedN`, and `destroy` frees everything the guest owned.
 *
 * The kill moments are drawn from seeded generators (`testSeeds`: the fixed seed in CI, a
 * random extra one elsewhere, both logged): set CORRAL_CRASH_SEED to replay one.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CALLER, type Kernel } from '@corral/core';
import { hasProgram, makeTempDir, realTest, SeededRandom, seedsFor, spawnChild } from '@corral/core/testing';
import { addLocalStorage, nodeDirs, openNodeKernel, tinyVmConfig } from './support/nodeKernel.js';
import { checkStorageInvariants } from './support/storageInvariants.js';

const crashChild = new URL('./fixtures/crashChild.js', import.meta.url);
const qemuTest = realTest(test, hasProgram('qemu-system-x86_64') && hasProgram('qemu-img'), 'qemu-system-x86_64 and qemu-img are not installed');
const KILLS_PER_OPERATION = 12;

/**
 * The kill moments of one test, fractions in [0, 1): one generator per seed (seed + `offset`,
 * so that the three operations draw differently), drawn from in turn; the seeds are logged.
 */
function killMoments(t: ExecutionContext, offset: number): () => number {
  const generators = seedsFor(t, { env: 'CORRAL_CRASH_SEED', fixed: [1] }).map((seed) => new SeededRandom((seed + offset) >>> 0));
  let draws = 0;
  return () => generators[draws++ % generators.length]!.next();
}

/** Temp files of interrupted writes anywhere under `dir` (except task logs). */
function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'tasks') walk(p);
      } else if (/\.tmp(-|$)/.test(e.name)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Runs `op` in a child and SIGKILLs it `delayMs` after it began; resolves with whether it finished first. */
async function killDuring(t: ExecutionContext, base: string, args: string[], delayMs: number): Promise<boolean> {
  const child = spawnChild(crashChild, [base, ...args]);
  t.teardown(() => child.kill());
  await child.waitFor(/^begin$/, 30_000);
  await sleep(delayMs);
  const finished = child.lines().includes('end');
  child.kill();
  await child.exited;
  return finished;
}

/** The recovery a user runs after a crash: a new kernel, unlock of locked guests, rescan. */
async function recover(t: ExecutionContext, base: string): Promise<Kernel> {
  const kernel = await openNodeKernel(base);
  t.teardown(() => kernel.dispose());
  t.deepEqual(tempFiles(nodeDirs(base).dataDir), [], 'the new kernel removed every stale temp file');
  for (const g of await kernel.guests.list()) if (g.lock) await kernel.guests.unlock(g.vmid, { caller: ROOT_CALLER });
  await kernel.guests.rescan({ caller: ROOT_CALLER });
  const state = await checkStorageInvariants(kernel);
  if (state.leftovers.length > 0) for (const f of await kernel.config.readAll('nodes/testnode/qemu-server', '.conf')) t.log(f.content);
  t.deepEqual(state, { orphans: [], dangling: [], leftovers: [] });
  return kernel;
}

/**
 * The window kill moments are drawn from: starts at the measured duration of the operation
 * and shrinks by a fifth each time the operation finished before its kill (a loaded machine
 * and a warm page cache make durations vary), so that most kills land inside the operation.
 */
class KillWindow {
  #ms: number;
  interrupted = 0;
  constructor(
    measuredMs: number,
    private readonly next: () => number,
  ) {
    this.#ms = measuredMs;
  }
  delay(): number {
    return this.next() * this.#ms;
  }
  record(finishedFirst: boolean): void {
    if (finishedFirst) this.#ms *= 0.8;
    else this.interrupted++;
  }
}

/** Measures how long `args` takes when not killed (the range the kill moments are drawn from). */
async function measure(t: ExecutionContext, base: string, args: string[]): Promise<number> {
  const child = spawnChild(crashChild, [base, ...args]);
  t.teardown(() => child.kill());
  await child.waitFor(/^begin$/, 30_000);
  const t0 = performance.now();
  await child.waitFor(/^end$/, 120_000);
  const ms = performance.now() - t0;
  await child.exited;
  return ms;
}

qemuTest.serial(`SIGKILL during create, ${KILLS_PER_OPERATION} times: unlock, rescan and destroy leave nothing behind`, async (t) => {
  t.timeout(600_000);
  const next = killMoments(t, 0);
  const base = await makeTempDir(t, 'corral-crash-create-');
  const setup = await openNodeKernel(base);
  await addLocalStorage(setup, base);
  await setup.dispose();
  const duration = await measure(t, base, ['create', '100']);
  t.log(`create takes ${duration.toFixed(0)} ms`);
  const window = new KillWindow(duration, next);
  for (let i = 0; i < KILLS_PER_OPERATION; i++) {
    const vmid = 101 + i;
    window.record(await killDuring(t, base, ['create', String(vmid)], window.delay()));
    const kernel = await recover(t, base);
    const guest = (await kernel.guests.list()).find((g) => g.vmid === vmid);
    if (guest) await kernel.guests.destroy(vmid, { caller: ROOT_CALLER });
    t.deepEqual(await kernel.storage.listVolumes('local', { vmid }), [], `create #${i}: every volume of ${vmid} is gone`);
    await kernel.dispose();
  }
  t.log(`${window.interrupted} kills landed inside the create`);
  t.true(window.interrupted > KILLS_PER_OPERATION / 2, 'most kills interrupted the operation');
});

qemuTest.serial(`SIGKILL during a full clone, ${KILLS_PER_OPERATION} times: the source is intact, the half clone goes with destroy`, async (t) => {
  t.timeout(600_000);
  const next = killMoments(t, 1);
  const base = await makeTempDir(t, 'corral-crash-clone-');
  const setup = await openNodeKernel(base);
  await addLocalStorage(setup, base);
  await setup.guests.create('qemu', tinyVmConfig({ scsi0: 'local:0.25,format=raw', scsi1: 'local:0.25,format=qcow2' }), { vmid: 100 });
  const source = await setup.guests.config(100);
  await setup.dispose();
  const duration = await measure(t, base, ['clone', '100', '199']);
  t.log(`full clone takes ${duration.toFixed(0)} ms`);
  const window = new KillWindow(duration, next);
  for (let i = 0; i < KILLS_PER_OPERATION; i++) {
    const newid = 200 + i;
    window.record(await killDuring(t, base, ['clone', '100', String(newid)], window.delay()));
    const kernel = await recover(t, base);
    t.is((await kernel.guests.config(100)).digest, source.digest, 'the source config is unchanged');
    if ((await kernel.guests.list()).some((g) => g.vmid === newid)) await kernel.guests.destroy(newid);
    t.deepEqual(await kernel.storage.listVolumes('local', { vmid: newid }), [], `clone #${i}: every volume of ${newid} is gone`);
    t.is((await kernel.storage.listVolumes('local', { vmid: 100 })).length, 2, 'the source volumes are there');
    await kernel.dispose();
  }
  t.log(`${window.interrupted} kills landed inside the clone`);
  t.true(window.interrupted > KILLS_PER_OPERATION / 2, 'most kills interrupted the operation');
});

qemuTest.serial(
  `SIGKILL during a RAM snapshot, ${KILLS_PER_OPERATION} times: unlock resumes the VM, drops the half snapshot, and the next RAM snapshot works`,
  async (t) => {
    t.timeout(900_000);
    const next = killMoments(t, 2);
    const base = await makeTempDir(t, 'corral-crash-snap-');
    const setup = await openNodeKernel(base);
    t.teardown(async () => {
      const k = await openNodeKernel(base);
      if ((await k.guests.status(100).catch(() => undefined))?.state !== 'stopped') await k.guests.stop(100).catch(() => undefined);
      await k.dispose();
    });
    await addLocalStorage(setup, base);
    await setup.guests.create('qemu', tinyVmConfig({ scsi0: 'local:0.0625,format=qcow2' }), { vmid: 100 });
    await setup.guests.start(100);
    await setup.dispose();
    const duration = await measure(t, base, ['snapshot', '100', 'calibrate']);
    t.log(`RAM snapshot takes ${duration.toFixed(0)} ms`);
    const window = new KillWindow(duration, next);
    for (let i = 0; i < KILLS_PER_OPERATION; i++) {
      const name = `crash${i}`;
      window.record(await killDuring(t, base, ['snapshot', '100', name], window.delay()));
      const kernel = await recover(t, base);
      const status = await kernel.guests.status(100);
      t.is(status.state, 'running', `snapshot #${i}: the VM runs again (QMP: ${String(status.detail?.qmpStatus)})`);
      // Config and disks agree right after recovery: a snapshot the config lists exists on
      // every disk it names (a rollback to it works), and no disk has one the config lacks.
      t.deepEqual((await checkStorageInvariants(kernel)).leftovers, [], `snapshot #${i}: config and disks disagree after recovery`);
      const names = (await kernel.guests.listSnapshots(100)).map((s) => s.name);
      t.false(
        names.some((n) => n !== 'calibrate' && n !== name),
        names.join(','),
      );
      // The VM is usable: the next RAM snapshot succeeds (the interrupted one left no block node behind).
      await kernel.guests.snapshot(100, `after${i}`, { withState: true });
      await kernel.guests.deleteSnapshot(100, `after${i}`);
      if (names.includes(name)) await kernel.guests.deleteSnapshot(100, name);
      t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
      await kernel.dispose();
    }
    t.log(`${window.interrupted} kills landed inside the snapshot`);
    t.true(window.interrupted > KILLS_PER_OPERATION / 2, 'most kills interrupted the operation');
  },
);

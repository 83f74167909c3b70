/**
 * Commit discipline of the guest facade, by fault injection: every multi-step operation is run
 * once per step with that step failing (a storage call or a config write), and once more with
 * every step from there on failing (so its undo steps fail too). Whatever fails, the volumes on
 * storage and the volumes the configs name stay the same set, no persistent lock is left, and a
 * failed undo is a task warning, never silent.
 */
import test, { type ExecutionContext } from 'ava';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { LocalConfigStore, ROOT_CALLER, type Kernel } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { QemuHypervisorDriver } from '@corral/plugin-kvm';
import { LxcHypervisorDriver } from '@corral/plugin-lxc';
import { FaultPlan, faultyConfigStore, faultyDirPlugin, faultyHypervisorPlugin } from './support/FaultPlan.js';
import { addLocalStorage, busyboxTemplate, nodeDirs, openNodeKernel } from './support/nodeKernel.js';
import { checkStorageInvariants } from './support/storageInvariants.js';

/** How an injected fault behaves; see the matrix test. */
type FaultMode = 'fault' | 'cascade' | 'landed';

interface FaultyNode {
  readonly kernel: Kernel;
  readonly plan: FaultPlan;
  readonly base: string;
}

async function faultyNode(t: ExecutionContext): Promise<FaultyNode> {
  const base = await makeTempDir(t, 'corral-fault-');
  const plan = new FaultPlan();
  const store = faultyConfigStore(new LocalConfigStore({ root: nodeDirs(base).dataDir, fsync: false }), plan);
  const kernel = await openNodeKernel(base, {
    configStore: store,
    plugins: [
      faultyDirPlugin(plan),
      faultyHypervisorPlugin('kvm', new QemuHypervisorDriver({ resourceControl: { mode: 'none' }, runDir: join(nodeDirs(base).runDir, 'kvm') }), plan),
      faultyHypervisorPlugin('lxc', new LxcHypervisorDriver(), plan),
    ],
  });
  t.teardown(async () => {
    plan.disarm();
    for (const g of await kernel.guests.list().catch(() => [])) {
      if (g.status !== 'stopped') await kernel.guests.stop(g.vmid).catch(() => undefined);
    }
    await kernel.dispose();
  });
  await addLocalStorage(kernel, base);
  return { kernel, plan, base };
}

const vm = { memory: 64, kvm: 0, vga: 'none' };

interface Operation {
  readonly name: string;
  /** Builds the state the operation starts from (no faults). */
  setup(kernel: Kernel): Promise<void>;
  /** The operation; `onTask` gets its UPID. */
  run(kernel: Kernel, onTask: (upid: string) => void): Promise<unknown>;
  /** More to check after a fault (the guest still usable...). */
  check?(t: ExecutionContext, kernel: Kernel, label: string): Promise<void>;
}

const operations: Operation[] = [
  {
    name: 'create with two new disks on one storage',
    setup: async () => undefined,
    run: (k, onTask) =>
      k.guests.create(
        'qemu',
        { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2', efidisk0: 'local:0,format=raw' },
        { vmid: 100, onTask },
      ),
  },
  {
    name: 'update: a new disk, a replaced disk, a deleted unused volume',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 });
      await k.guests.update(100, { delete: ['scsi1'] });
    },
    run: (k, onTask) => k.guests.update(100, { set: { scsi2: 'local:0.01,format=qcow2', scsi0: 'local:0.01,format=qcow2' }, delete: ['unused0'] }, { onTask }),
  },
  {
    name: 'full clone',
    setup: (k) => k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=raw' }, { vmid: 100 }).then(() => undefined),
    run: (k, onTask) => k.guests.clone(100, { newid: 101, full: true, onTask }),
  },
  {
    name: 'linked clone of a template',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 });
      await k.guests.template(100);
    },
    run: (k, onTask) => k.guests.clone(100, { newid: 101, onTask }),
  },
  {
    name: 'template',
    setup: (k) => k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 }).then(() => undefined),
    run: (k, onTask) => k.guests.template(100, { onTask }),
  },
  {
    name: 'snapshot of a stopped VM',
    setup: (k) => k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 }).then(() => undefined),
    run: (k, onTask) => k.guests.snapshot(100, 'snap1', { onTask }),
  },
  {
    name: 'rollback',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 });
      await k.guests.snapshot(100, 'snap1');
    },
    run: (k, onTask) => k.guests.rollback(100, 'snap1', { onTask }),
  },
  {
    name: 'delete snapshot',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 });
      await k.guests.snapshot(100, 'snap1');
    },
    run: (k, onTask) => k.guests.deleteSnapshot(100, 'snap1', { onTask }),
  },
  {
    name: 'container create from a template',
    setup: async (k) => {
      await k.storage.upload({ storage: 'local', content: 'vztmpl', filename: 'busybox.tar.gz', stream: createReadStream(busyboxTemplate()) });
    },
    run: (k, onTask) =>
      k.guests.create(
        'lxc',
        { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:0.05', mp0: 'local:0.01,mp=/data', memory: 64 },
        { vmid: 200, onTask, caller: ROOT_CALLER },
      ),
  },
  {
    name: 'snapshot with RAM state of a running VM',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.0625,format=qcow2', scsi1: 'local:0.0625,format=qcow2' }, { vmid: 100 });
      await k.guests.start(100);
    },
    run: (k, onTask) => k.guests.snapshot(100, 'ram1', { withState: true, onTask }),
    check: async (t, k, label) => {
      t.is((await k.guests.status(100)).state, 'running', `${label}: the VM runs`);
      // No half state left in QEMU: the next RAM snapshot works.
      await k.guests.snapshot(100, 'ram2', { withState: true });
      await k.guests.deleteSnapshot(100, 'ram2');
    },
  },
  {
    name: 'update of a running VM: a hot-plugged disk and a pending memory change',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.0625,format=qcow2' }, { vmid: 100 });
      await k.guests.start(100);
    },
    run: (k, onTask) => k.guests.update(100, { set: { virtio1: 'local:0.01,format=qcow2', memory: 96 } }, { onTask }),
    check: async (t, k, label) => {
      t.is((await k.guests.status(100)).state, 'running', `${label}: the VM runs`);
    },
  },
  {
    name: 'start applying pending changes',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.0625,format=qcow2' }, { vmid: 100 });
      await k.guests.start(100);
      await k.guests.update(100, { set: { memory: 96, virtio2: 'local:0.01,format=qcow2' }, delete: ['scsi0'] });
      await k.guests.stop(100);
    },
    run: (k, onTask) => k.guests.start(100, { onTask }),
  },
  {
    name: 'rescan adopting an orphaned volume',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.01' }, { vmid: 100 });
      await k.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 1024 * 1024 });
    },
    run: (k, onTask) => k.guests.rescan({ onTask }),
  },
  {
    name: 'destroy',
    setup: async (k) => {
      await k.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2', scsi1: 'local:0.01,format=qcow2' }, { vmid: 100 });
      await k.guests.update(100, { delete: ['scsi1'] });
    },
    run: (k, onTask) => k.guests.destroy(100, { onTask }),
  },
];

/** The task log's warning lines. */
async function warnings(kernel: Kernel, upid: string | undefined): Promise<string[]> {
  if (!upid) return [];
  return (await kernel.tasks.readLog(upid, { limit: 10_000 })).lines.map((l) => l.t).filter((l) => l.startsWith('WARN: '));
}

for (const op of operations) {
  test(`${op.name}: a fault at any step, and failing undos after it, leave no orphan, no dangling volume and no lock`, async (t) => {
    t.timeout(300_000);
    // A clean run tells how many steps the operation has.
    const clean = await faultyNode(t);
    await op.setup(clean.kernel);
    clean.plan.arm();
    await op.run(clean.kernel, () => undefined);
    clean.plan.disarm();
    const steps = [...clean.plan.steps];
    t.true(steps.length >= 1, `${op.name} has steps: ${steps.join(', ')}`);
    t.deepEqual(await checkStorageInvariants(clean.kernel), { orphans: [], dangling: [], leftovers: [] }, 'the operation without faults leaves a clean state');
    t.log(`${steps.length} steps: ${steps.join(', ')}`);

    for (let k = 1; k <= steps.length; k++) {
      // `fault`: step k fails before its work; `cascade`: every step from k fails (undos too);
      // `landed`: a config write does its work and then throws (an fsync after the rename fails).
      const modes: FaultMode[] = ['fault', 'cascade'];
      if (steps[k - 1] === 'config.write') modes.push('landed');
      for (const mode of modes) {
        const { kernel, plan } = await faultyNode(t);
        await op.setup(kernel);
        const orphanedBySetup = (await checkStorageInvariants(kernel)).orphans;
        let upid: string | undefined;
        plan.arm(mode === 'cascade' ? [] : [k], { failEveryStepFrom: mode === 'cascade' ? k : undefined, afterTheWork: mode === 'landed' });
        const outcome = await op
          .run(kernel, (u) => (upid = u))
          .then(
            () => undefined,
            (e: Error & { code?: string }) => e,
          );
        plan.disarm();
        const label = `${mode === 'cascade' ? 'every step from' : mode === 'landed' ? 'landed, then failed:' : 'step'} ${k} (${steps[k - 1]})`;
        const configFailed = plan.steps.some((s, i) => s.startsWith('config.') && (mode === 'cascade' ? i + 1 >= k : i + 1 === k));
        let state = await checkStorageInvariants(kernel);
        let warned = await warnings(kernel, upid);
        if (mode === 'landed') {
          // The config on disk is the new one: the operation is done, whatever the store said.
          t.is(outcome, undefined, `${label}: a write that landed counts as written (${outcome?.message ?? ''})`);
        } else if (outcome) {
          t.is(outcome.code, 'CORRAL_ERR_UNAVAILABLE', `${label}: the injected fault surfaces, coded: ${outcome.message}`);
        } else {
          // A fault the operation survives (a retried step, best-effort cleanup after its
          // commit) is never silent: the task log names it.
          const logged = upid ? (await kernel.tasks.readLog(upid, { limit: 10_000 })).lines.map((l) => l.t) : [];
          t.true(
            logged.some((l) => l.includes(`injected fault at step ${k} `)),
            `${label}: the operation succeeded and its task log does not name the fault (${logged.join(' | ')})`,
          );
        }
        // A snapshot delete that failed leaves its section marked `snapstate: delete` (as
        // Proxmox does: some volumes may have lost it already, so it cannot be rolled back
        // to); deleting it again finishes it.
        for (const l of state.leftovers) {
          const half = /^(\d+) \[(.+)\]: snapstate delete$/.exec(l);
          // Under a persistent lock (the store failed too), `unlock` below finishes it.
          if (!half || state.leftovers.some((x) => x.startsWith(`${half[1]}: lock `))) continue;
          await kernel.guests.deleteSnapshot(Number(half[1]), half[2]!);
          state = await checkStorageInvariants(kernel);
        }
        // A config store that fails mid-operation leaves what a crash leaves: a visible persistent
        // lock (and an unfinished snapshot section), which `unlock` repairs. Nothing else may be left.
        if (state.leftovers.length > 0) {
          t.true(configFailed && mode !== 'landed', `${label}: ${state.leftovers.join(', ')} left although the config store never failed`);
          for (const vmid of new Set(state.leftovers.map((l) => Number(l.split(/[ :]/)[0])))) {
            const r = await kernel.guests.unlock(vmid, { caller: ROOT_CALLER });
            warned = [...warned, ...(await warnings(kernel, r.upid))];
          }
          state = await checkStorageInvariants(kernel);
          t.deepEqual(state.leftovers, [], `${label}: unlock did not repair the interrupted operation`);
        }
        // A committed config never names a freed volume; a fault before the commit leaves
        // nothing behind and one after it leaves unusedN. Only when the store keeps failing,
        // undo steps and retries included (cascade), may a volume stay orphaned or a config
        // name a volume that is gone (a template's renamed base), and then a warning names it.
        const orphans = state.orphans.filter((o) => !orphanedBySetup.includes(o));
        if (mode === 'cascade') {
          for (const v of [...orphans, ...state.dangling]) {
            t.true(warned.some((w) => w.includes(v)), `${label}: ${v} is ${orphans.includes(v) ? 'orphaned' : 'dangling'} without a warning (${warned.join(' | ')})`);
          }
        } else {
          t.deepEqual(orphans, [], `${label}: volumes left that no config names`);
          t.deepEqual(state.dangling, [], `${label}: a config names a volume that does not exist`);
        }
        await op.check?.(t, kernel, label);
        // And rescan makes every orphan of a guest that has a config an unusedN volume of it.
        if (state.orphans.length > 0) {
          await kernel.guests.rescan({ caller: ROOT_CALLER });
          const guests = new Set((await kernel.guests.list()).map((g) => g.vmid));
          const after = await checkStorageInvariants(kernel);
          t.deepEqual(
            after.orphans.filter((o) => guests.has(Number(/^local:(\d+)\//.exec(o)?.[1]))),
            [],
            `${label}: rescan left orphans`,
          );
        }
      }
    }
  });
}

test('a failed undo is a task warning naming the step, and the task ends with the original error', async (t) => {
  const { kernel, plan } = await faultyNode(t);
  // Steps of a create with two disks: the vmid reservation (write the claim, then one
  // transaction writes the placeholder and drops the claim), allocate, allocate, write. Fail the
  // second allocate and the free of the first.
  let upid: string | undefined;
  plan.arm([4, 5]);
  const err = await t.throwsAsync(kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01', scsi1: 'local:0.01' }, { vmid: 100, onTask: (u) => (upid = u) }));
  plan.disarm();
  t.regex(err!.message, /injected fault at step 4 \(storage\.allocate\)/);
  t.deepEqual(plan.steps.slice(0, 2), ['config.write', 'config.transaction']);
  t.deepEqual(plan.steps.slice(2), ['storage.allocate', 'storage.allocate', 'storage.free', 'config.delete']);
  const warned = await warnings(kernel, upid);
  t.is(warned.length, 1);
  t.regex(warned[0]!, /^WARN: undo 'free local:100\/vm-100-disk-0\.raw' failed: injected fault at step 5/);
  const task = await kernel.tasks.get(upid!);
  t.regex(task.exitstatus ?? '', /injected fault at step 4/);
});

test('a placeholder config that cannot be dropped after a failed create is a task warning; unlock and destroy remove it', async (t) => {
  const { kernel, plan } = await faultyNode(t);
  // Steps of a create with one disk: write the claim, the transaction that writes the
  // placeholder and drops the claim, allocate, write the config (fails), free (the undo),
  // delete the placeholder (fails).
  let upid: string | undefined;
  plan.arm([4, 6]);
  await t.throwsAsync(kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01' }, { vmid: 100, onTask: (u) => (upid = u) }), { message: /injected fault at step 4/ });
  plan.disarm();
  t.deepEqual(plan.steps.slice(2), ['storage.allocate', 'config.write', 'storage.free', 'config.delete']);
  const warned = await warnings(kernel, upid);
  t.true(
    warned.some((w) => /placeholder config 'nodes\/testnode\/qemu-server\/100\.conf' of guest 100 stays \(injected fault at step 6/.test(w)),
    warned.join(' | '),
  );
  t.like((await kernel.guests.list())[0], { vmid: 100, lock: 'create' });
  await kernel.guests.unlock(100, { caller: ROOT_CALLER });
  await kernel.guests.destroy(100, { caller: ROOT_CALLER });
  t.deepEqual(await kernel.guests.list(), []);
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
});

test('update: a deleted unused volume that cannot be freed (protected) stays as unusedN; the new disk stays; the task warns', async (t) => {
  const { kernel } = await faultyNode(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01', scsi1: 'local:0.01' }, { vmid: 100 });
  await kernel.guests.update(100, { delete: ['scsi1'] });
  const unused = (await kernel.guests.config(100)).config.unused0!;
  await kernel.storage.setAttributes(unused, { protected: true });
  let upid: string | undefined;
  const r = await kernel.guests.update(100, { set: { scsi2: 'local:0.01' }, delete: ['unused0'] }, { onTask: (u) => (upid = u) });
  const { config } = await kernel.guests.config(100);
  t.is(config.unused0, unused, 'kept as unused0');
  t.regex(config.scsi2!, /^local:100\/vm-100-disk-2\.raw,size=/);
  t.true(
    (await kernel.storage.listVolumes('local', { vmid: 100 })).some((v) => config.scsi2!.startsWith(v.volid)),
    'the new disk exists',
  );
  t.deepEqual(r.applied.slice().sort(), ['scsi2', 'unused0']);
  const warned = await warnings(kernel, upid);
  t.true(
    warned.some((w) => w.includes(unused) && /protected/.test(w)),
    warned.join(' | '),
  );
  t.regex((await kernel.tasks.get(upid!)).exitstatus ?? '', /^WARNINGS: 1$/);
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
});

test('destroy frees only volumes the guest owns: a shared ISO attached as a disk and another guest volume are kept', async (t) => {
  const { kernel, base } = await faultyNode(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01' }, { vmid: 101 });
  const other = (await kernel.guests.config(101)).config.scsi0!.split(',')[0]!;
  const { writeFile } = await import('node:fs/promises');
  const isoSource = join(base, 'shared.iso');
  await writeFile(isoSource, Buffer.alloc(64 * 1024, 1));
  const iso = await kernel.storage.upload({ storage: 'local', content: 'iso', filename: 'shared.iso', stream: createReadStream(isoSource) });
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01', scsi1: iso, scsi2: other }, { vmid: 100, caller: ROOT_CALLER });
  await kernel.guests.destroy(100);
  const left = (await kernel.storage.listVolumes('local')).map((v) => v.volid);
  t.true(left.includes(iso), 'the shared ISO is kept');
  t.true(left.includes(other), "guest 101's volume is kept");
  t.false(
    left.some((v) => v.startsWith('local:100/')),
    "guest 100's own volume is freed",
  );
  t.is((await kernel.guests.config(101)).config.scsi0!.split(',')[0], other);
});

test('destroy of a template whose bases have linked clones is refused and changes nothing; after the clones go it works', async (t) => {
  const { kernel } = await faultyNode(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2' }, { vmid: 100 });
  await kernel.guests.template(100);
  await kernel.guests.clone(100, { newid: 101 });
  const before = await kernel.guests.config(100);
  const err = await t.throwsAsync(kernel.guests.destroy(100), { code: 'CORRAL_ERR_CONFLICT' });
  t.regex(
    err!.message,
    /template whose base local:100\/base-100-disk-0\.qcow2 still has linked clones: local:100\/base-100-disk-0\.qcow2\/101\/vm-101-disk-0\.qcow2/,
  );
  t.is((await kernel.guests.config(100)).digest, before.digest);
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
  await kernel.guests.destroy(101);
  await kernel.guests.destroy(100);
  t.deepEqual(await kernel.storage.listVolumes('local'), []);
});

test('destroy also frees volumes the guest owns that no config key names (left by an interrupted operation)', async (t) => {
  const { kernel } = await faultyNode(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01' }, { vmid: 100 });
  const stray = await kernel.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 1024 * 1024 });
  let upid: string | undefined;
  await kernel.guests.destroy(100, { onTask: (u) => (upid = u) });
  t.deepEqual(await kernel.storage.listVolumes('local'), []);
  const log = (await kernel.tasks.readLog(upid!)).lines.map((l) => l.t);
  t.true(
    log.some((l) => l.includes(stray) && /referenced by no config key/.test(l)),
    log.join(' | '),
  );
});

test('a root-equivalent config survives create through ROOT_CALLER only (privileges are checked before any step)', async (t) => {
  const { kernel, plan } = await faultyNode(t);
  plan.arm();
  await t.throwsAsync(kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01', args: '-no-reboot' }, { vmid: 100 }), { code: 'CORRAL_ERR_PERMISSION' });
  t.deepEqual(plan.steps, [], 'no step ran: not even the vmid reservation');
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01', args: '-no-reboot' }, { vmid: 100, caller: ROOT_CALLER });
  plan.disarm();
  t.is((await kernel.guests.config(100)).config.args, '-no-reboot');
});

test('rollback keeps the disks added after the snapshot as unusedN instead of orphaning them', async (t) => {
  const { kernel } = await faultyNode(t);
  await kernel.guests.create('qemu', { ...vm, scsi0: 'local:0.01,format=qcow2' }, { vmid: 100 });
  await kernel.guests.snapshot(100, 'before');
  await kernel.guests.update(100, { set: { scsi1: 'local:0.01,format=qcow2' } });
  const added = (await kernel.guests.config(100)).config.scsi1!.split(',')[0]!;
  await kernel.guests.rollback(100, 'before');
  const { config } = await kernel.guests.config(100);
  t.false('scsi1' in config);
  t.is(config.unused0, added);
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
});

test('keys only Corral writes (lock, parent, snaptime, vmstate, snapstate, digest) cannot be given to create or update', async (t) => {
  const { kernel } = await faultyNode(t);
  for (const [key, value] of [['lock', 'backup'], ['parent', 'nosuch'], ['snaptime', '1'], ['vmstate', 'local:100/x.raw'], ['snapstate', 'prepare'], ['digest', 'abc']]) {
    const err = await t.throwsAsync(kernel.guests.create('qemu', { ...vm, [key]: value }, { vmid: 100 }), { code: 'CORRAL_ERR_INVALID_CONFIG' }, key);
    t.is((err as { key?: string }).key, key);
  }
  await kernel.guests.create('qemu', { ...vm }, { vmid: 100 });
  const err = await t.throwsAsync(kernel.guests.update(100, { set: { parent: 'x' } }), { code: 'CORRAL_ERR_INVALID_CONFIG' });
  t.is((err as { key?: string }).key, 'parent');
});

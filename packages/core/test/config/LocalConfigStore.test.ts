import test from 'ava';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalConfigStore, configDigest } from '../../src/config/LocalConfigStore.js';
import type { ConfigChange } from '../../src/config/ConfigStore.js';
import { validateConfigPath } from '../../src/config/validateConfigPath.js';
import { DigestMismatchError, InvalidArgumentError, LockTimeoutError } from '../../src/errors.js';
import { LocalLockManager } from '../../src/locks/LocalLockManager.js';
import { acquireHostLock } from '../../src/locks/acquireHostLock.js';
import { guestLockName } from '../../src/locks/guestLock.js';
import { SeededRandom } from '../../src/testing/SeededRandom.js';
import { spawnChild } from '../../src/testing/spawnChild.js';
import { seedsFor } from '../../src/testing/testSeeds.js';
import { crashContent, crashGeneration } from './fixtures/crashContent.js';

function tempRoot(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'corral-cfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/** Resolves once `condition()` holds, checking every 20 ms: the test waits for the event, ava's timeout is the only bound. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(20);
}

const badPaths: Array<{ description: string; path: string }> = [
  { description: 'empty', path: '' },
  { description: 'absolute', path: '/etc/pve/storage.cfg' },
  { description: 'parent segment', path: 'nodes/../storage.cfg' },
  { description: 'leading parent', path: '../x.conf' },
  { description: 'dot segment', path: 'nodes/./a.conf' },
  { description: 'double slash', path: 'nodes//a.conf' },
  { description: 'trailing slash', path: 'nodes/a/' },
  { description: 'NUL byte', path: 'nodes/a\0.conf' },
  { description: 'hidden (reserved) segment', path: 'nodes/.a.conf.tmp-1-ab' },
  { description: 'segment too long', path: `nodes/${'x'.repeat(201)}` },
];

for (const { description, path } of badPaths) {
  test(`path validation refuses: ${description}`, async (t) => {
    const store = new LocalConfigStore({ root: tempRoot(t) });
    const err = await t.throwsAsync(store.write(path, 'x'), { instanceOf: InvalidArgumentError });
    t.is(err?.code, 'CORRAL_ERR_INVALID_ARGUMENT');
    t.is((err as InvalidArgumentError).argument, 'path');
    t.throws(() => validateConfigPath(path), { instanceOf: InvalidArgumentError });
    await t.throwsAsync(store.read(path), { instanceOf: InvalidArgumentError });
  });
}

test('path validation accepts Proxmox paths and the root for directories', (t) => {
  for (const p of ['storage.cfg', 'nodes/pve1/qemu-server/100.conf', 'firewall/cluster.fw', 'a-b_c@d+e/f.g']) {
    t.is(validateConfigPath(p), p);
  }
  t.is(validateConfigPath('', { allowRoot: true }), '');
});

test('write/read/delete with SHA-1 digests and create-only / compare-and-set', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  const path = 'nodes/pve1/qemu-server/100.conf';
  t.is(await store.read(path), null);

  const d1 = await store.write(path, 'memory: 512\n', { expectedDigest: null });
  t.is(d1, sha1('memory: 512\n'));
  t.is(configDigest('memory: 512\n'), d1);
  t.deepEqual(await store.read(path), { path, content: 'memory: 512\n', digest: d1 });
  t.is(fs.readFileSync(join(root, path), 'utf8'), 'memory: 512\n');
  t.is(fs.statSync(join(root, path)).mode & 0o777, 0o640);

  // create-only on an existing file
  const e1 = await t.throwsAsync(store.write(path, 'memory: 1024\n', { expectedDigest: null }), { instanceOf: DigestMismatchError });
  t.is((e1 as DigestMismatchError).actual, d1);

  const d2 = await store.write(path, 'memory: 1024\n', { expectedDigest: d1 });
  // stale digest refused, content unchanged
  const e2 = await t.throwsAsync(store.write(path, 'memory: 2048\n', { expectedDigest: d1 }), { instanceOf: DigestMismatchError });
  t.is(e2?.code, 'CORRAL_ERR_DIGEST_MISMATCH');
  t.is((await store.read(path))?.digest, d2);

  // unconditional write
  const d3 = await store.write(path, 'memory: 4096\n');
  await t.throwsAsync(store.delete(path, { expectedDigest: d2 }), { instanceOf: DigestMismatchError });
  t.true(await store.delete(path, { expectedDigest: d3 }));
  t.false(await store.delete(path));
  t.is(await store.read(path), null);
  t.false(fs.existsSync(join(root, path)));
});

test('list, listDirs and readAll see files only, sorted, never temp files', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  await store.write('nodes/pve1/qemu-server/101.conf', 'name: b\n');
  await store.write('nodes/pve1/qemu-server/100.conf', 'name: a\n');
  await store.write('nodes/pve1/qemu-server/notes.txt', 'x\n');
  await store.write('nodes/pve2/lxc/200.conf', 'hostname: c\n');
  // Leftovers of a writer that died mid-write, and a subdirectory.
  fs.writeFileSync(join(root, 'nodes/pve1/qemu-server/.102.conf.tmp-999999-abcdef'), 'partial');
  fs.mkdirSync(join(root, 'nodes/pve1/qemu-server/sub.conf'));

  t.deepEqual(await store.list('nodes/pve1/qemu-server'), ['100.conf', '101.conf', 'notes.txt']);
  t.deepEqual(await store.listDirs('nodes'), ['pve1', 'pve2']);
  t.deepEqual(await store.list('nodes/missing'), []);
  t.deepEqual(await store.readAll('nodes/missing', '.conf'), []);
  const all = await store.readAll('nodes/pve1/qemu-server', '.conf');
  t.deepEqual(
    all.map((f) => [f.path, f.content, f.digest]),
    [
      ['nodes/pve1/qemu-server/100.conf', 'name: a\n', sha1('name: a\n')],
      ['nodes/pve1/qemu-server/101.conf', 'name: b\n', sha1('name: b\n')],
    ],
  );
  t.is(await store.removeStaleTempFiles('nodes/pve1/qemu-server'), 1);
  t.false(fs.existsSync(join(root, 'nodes/pve1/qemu-server/.102.conf.tmp-999999-abcdef')));
});

test('readAll and read notice external changes, including same-size in-place rewrites', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  const dir = 'nodes/pve1/qemu-server';
  await store.write(`${dir}/100.conf`, 'cores: 1\n');
  t.is((await store.readAll(dir, '.conf'))[0]?.content, 'cores: 1\n');
  // Same size, same inode, written right away: the cache must not hide it.
  fs.writeFileSync(join(root, dir, '100.conf'), 'cores: 2\n');
  t.is((await store.readAll(dir, '.conf'))[0]?.content, 'cores: 2\n');
  t.is((await store.read(`${dir}/100.conf`))?.digest, sha1('cores: 2\n'));
  fs.rmSync(join(root, dir, '100.conf'));
  t.deepEqual(await store.readAll(dir, '.conf'), []);
  t.is(await store.read(`${dir}/100.conf`), null);
  // A write with the digest read before an external change is refused.
  await store.write(`${dir}/100.conf`, 'cores: 3\n');
  const before = await store.read(`${dir}/100.conf`);
  fs.writeFileSync(join(root, dir, '100.conf'), 'cores: 4\n');
  await t.throwsAsync(store.write(`${dir}/100.conf`, 'cores: 5\n', { expectedDigest: before!.digest }), { instanceOf: DigestMismatchError });
});

test('readAll served from an inotify-proven snapshot still sees every external change at once', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  t.teardown(() => store.close());
  const dir = 'nodes/pve1/qemu-server';
  await store.write(`${dir}/100.conf`, 'cores: 1\n');
  await store.write(`${dir}/101.conf`, 'cores: 1\n');
  await sleep(150); // past the racy window: the next pass may keep a snapshot
  const contents = async (): Promise<string[]> => (await store.readAll(dir, '.conf')).map((f) => `${f.path}=${f.content.trim()}`);
  const steps: Array<{ change: () => void; expected: string[] }> = [
    { change: () => undefined, expected: [`${dir}/100.conf=cores: 1`, `${dir}/101.conf=cores: 1`] },
    // in place, same size, same inode
    { change: () => fs.writeFileSync(join(root, dir, '100.conf'), 'cores: 2\n'), expected: [`${dir}/100.conf=cores: 2`, `${dir}/101.conf=cores: 1`] },
    // rename over (editor-style)
    {
      change: () => {
        fs.writeFileSync(join(root, dir, 'x.tmp'), 'cores: 3\n');
        fs.renameSync(join(root, dir, 'x.tmp'), join(root, dir, '101.conf'));
      },
      expected: [`${dir}/100.conf=cores: 2`, `${dir}/101.conf=cores: 3`],
    },
    { change: () => fs.rmSync(join(root, dir, '100.conf')), expected: [`${dir}/101.conf=cores: 3`] },
    { change: () => fs.writeFileSync(join(root, dir, '102.conf'), 'new\n'), expected: [`${dir}/101.conf=cores: 3`, `${dir}/102.conf=new`] },
  ];
  for (const step of steps) {
    await sleep(150);
    await contents(); // full pass, snapshot kept
    await contents(); // served from the snapshot
    step.change();
    t.deepEqual(await contents(), step.expected);
  }
  // Own writes through another store object of this process.
  await sleep(150);
  await contents();
  await new LocalConfigStore({ root }).write(`${dir}/101.conf`, 'cores: 4\n');
  t.deepEqual(await contents(), [`${dir}/101.conf=cores: 4`, `${dir}/102.conf=new`]);
});

test('a path running through a file is an InvalidArgumentError', async (t) => {
  const store = new LocalConfigStore({ root: tempRoot(t) });
  await store.write('storage.cfg', 'dir: local\n');
  await t.throwsAsync(store.write('storage.cfg/x.conf', 'x'), { instanceOf: InvalidArgumentError });
  t.is(await store.read('storage.cfg/x.conf'), null);
  t.deepEqual(await store.list('storage.cfg'), []);
});

test('50 concurrent read-modify-write updates under the guest lock all land', async (t) => {
  const store = new LocalConfigStore({ root: tempRoot(t) });
  const locks = new LocalLockManager();
  const path = 'nodes/pve1/qemu-server/100.conf';
  await store.write(path, 'counter: 0\nmemory: 512\n');
  await Promise.all(
    Array.from({ length: 50 }, () =>
      locks.withLock(
        guestLockName(100),
        async () => {
          const file = await store.read(path);
          const n = Number(/counter: (\d+)/.exec(file!.content)![1]);
          await store.write(path, file!.content.replace(/counter: \d+/, `counter: ${n + 1}`), { expectedDigest: file!.digest });
        },
        // 50 fsynced writes in a row: leave room for a slow disk.
        { timeoutMs: 60_000 },
      ),
    ),
  );
  t.is((await store.read(path))?.content, 'counter: 50\nmemory: 512\n');
});

test('without the guest lock, compare-and-set lets exactly the non-stale writers win', async (t) => {
  const store = new LocalConfigStore({ root: tempRoot(t) });
  const path = 'nodes/pve1/qemu-server/100.conf';
  await store.write(path, 'counter: 0\n');
  const outcomes = await Promise.allSettled(
    Array.from({ length: 50 }, async () => {
      const file = await store.read(path);
      const n = Number(/counter: (\d+)/.exec(file!.content)![1]);
      await store.write(path, `counter: ${n + 1}\n`, { expectedDigest: file!.digest });
    }),
  );
  const won = outcomes.filter((o) => o.status === 'fulfilled').length;
  const lost = outcomes.filter((o) => o.status === 'rejected');
  t.true(won >= 1);
  t.true(lost.every((o) => o.status === 'rejected' && o.reason instanceof DigestMismatchError));
  // No lost update: the counter equals the number of successful writes.
  t.is((await store.read(path))?.content, `counter: ${won}\n`);
  t.log(`${won} won, ${lost.length} refused with DigestMismatchError`);
});

test('compare-and-set holds across processes (two children increment one config)', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  const path = 'nodes/pve1/qemu-server/100.conf';
  await store.write(path, 'counter: 0\n');
  const script = new URL('./fixtures/casIncrementChild.js', import.meta.url);
  const children = [spawnChild(script, [root, path, '100']), spawnChild(script, [root, path, '100'])];
  t.teardown(() => children.forEach((c) => c.kill()));
  const lines = await Promise.all(children.map((c) => c.waitFor(/^done \d+$/, 60_000)));
  for (const c of children) t.is((await c.exited).code, 0);
  t.is((await store.read(path))?.content, 'counter: 200\n');
  t.log(`retries after DigestMismatchError: ${lines.join(', ')}`);
});

test('a write waits for the file lock held by another process and times out with LockTimeoutError', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root, lockTimeoutMs: 100 });
  const path = 'nodes/pve1/qemu-server/100.conf';
  // Hold the file's host lock as another writer would (same name and scope as the store).
  const lease = await acquireHostLock(path, { scope: `corral-config:${store.root}` });
  const err = await t.throwsAsync(store.write(path, 'x\n'), { instanceOf: LockTimeoutError });
  t.is((err as LockTimeoutError).lockName, path);
  t.is((err as LockTimeoutError).timeoutMs, 100);
  await lease.release();
  t.is(await store.write(path, 'x\n'), sha1('x\n'));
});

test('crash safety: writers SIGKILLed at random moments 100 times leave old or new content, never a torn file', async (t) => {
  t.timeout(120_000);
  const root = tempRoot(t);
  const dir = 'nodes/pve1/qemu-server';
  const store = new LocalConfigStore({ root });
  const script = new URL('./fixtures/configWriterChild.js', import.meta.url);
  // Four lanes (one config file each) share the 100 kills, to keep the test short.
  const LANES = 4;
  const KILLS_PER_LANE = 25;
  let kills = 0;
  let midWrite = 0;
  // The kill moments are seeded: lane n draws from seed seeds[n % seeds.length] + n.
  const seeds = seedsFor(t, { env: 'CORRAL_CONFIG_CRASH_SEED', fixed: [1] });
  const lane = async (n: number): Promise<number> => {
    const random = new SeededRandom((seeds[n % seeds.length]! + n) >>> 0);
    const path = `${dir}/${100 + n}.conf`;
    await store.write(path, crashContent(1));
    let last = 1;
    for (let i = 0; i < KILLS_PER_LANE; i++) {
      const child = spawnChild(script, [root, path, String(last + 1)]);
      t.teardown(() => child.kill());
      await child.waitFor(/^ready$/);
      await sleep(random.next() * 25);
      child.kill();
      const { signal } = await child.exited;
      t.is(signal, 'SIGKILL');
      kills++;
      const raw = fs.readFileSync(join(root, path), 'utf8');
      const gen = crashGeneration(raw);
      if (gen === null) {
        throw new Error(`${path}, kill ${i}: torn or empty file (${raw.length} bytes, starts ${JSON.stringify(raw.slice(0, 30))})`);
      }
      if (gen < last) throw new Error(`${path}, kill ${i}: generation went back from ${last} to ${gen}`);
      if (fs.readdirSync(join(root, dir)).some((name) => name.startsWith(`.${100 + n}.conf.tmp-`))) midWrite++;
      last = gen;
    }
    return last;
  };
  const lastGens = await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
  t.is(kills, 100);
  // Temp files of the killed writers never show, and the dead holders left no lock behind.
  const names = Array.from({ length: LANES }, (_, n) => `${100 + n}.conf`);
  t.deepEqual(await store.list(dir), names);
  t.is((await store.readAll(dir, '.conf')).length, LANES);
  const fresh = new LocalConfigStore({ root, lockTimeoutMs: 2_000 });
  for (let n = 0; n < LANES; n++) {
    t.is(await fresh.write(`${dir}/${100 + n}.conf`, crashContent(lastGens[n]! + 1)), sha1(crashContent(lastGens[n]! + 1)));
  }
  t.true((await store.removeStaleTempFiles(dir)) >= 0);
  t.log(`${kills} kills, generations reached ${lastGens.join('/')}, ${midWrite} kills left a temp file (killed mid-write)`);
});

test('watch reports own writes synchronously and other writers through inotify/polling', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root, watchPollMs: 200 });
  const other = new LocalConfigStore({ root });
  await store.write('nodes/pve1/qemu-server/100.conf', 'a\n');
  const seen: ConfigChange[] = [];
  const stop = store.watch('nodes/pve1/qemu-server', (c) => seen.push(c));
  t.teardown(stop);
  await store.watchesReady(); // first scan = baseline, not reported

  const d = await store.write('nodes/pve1/qemu-server/101.conf', 'b\n');
  t.deepEqual(seen, [{ type: 'write', path: 'nodes/pve1/qemu-server/101.conf', digest: d }]);
  // Another store of this process on the same root: reported before its write resolves.
  await other.delete('nodes/pve1/qemu-server/101.conf');
  t.deepEqual(seen.at(-1), { type: 'delete', path: 'nodes/pve1/qemu-server/101.conf' });
  // Outside the prefix: not reported.
  await store.write('nodes/pve1/lxc/200.conf', 'c\n');
  t.is(seen.length, 2);

  // An external writer (plain fs) is noticed.
  fs.writeFileSync(join(root, 'nodes/pve1/qemu-server/100.conf'), 'changed\n');
  fs.mkdirSync(join(root, 'nodes/pve1/qemu-server/sub'));
  fs.writeFileSync(join(root, 'nodes/pve1/qemu-server/sub/1.conf'), 'deep\n');
  await until(() => seen.length >= 4);
  t.deepEqual(
    seen.slice(2).sort((a, b) => a.path.localeCompare(b.path)),
    [
      { type: 'write', path: 'nodes/pve1/qemu-server/100.conf', digest: sha1('changed\n') },
      { type: 'write', path: 'nodes/pve1/qemu-server/sub/1.conf', digest: sha1('deep\n') },
    ],
  );
  fs.rmSync(join(root, 'nodes/pve1/qemu-server/100.conf'));
  await until(() => seen.length >= 5);
  t.deepEqual(seen[4], { type: 'delete', path: 'nodes/pve1/qemu-server/100.conf' });

  stop();
  await store.write('nodes/pve1/qemu-server/102.conf', 'x\n');
  t.is(seen.length, 5);
});

test('watch of a prefix that does not exist yet sees it appear', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root, watchPollMs: 5_000 });
  const seen: ConfigChange[] = [];
  const stop = store.watch('nodes/pve9/', (c) => seen.push(c));
  t.teardown(stop);
  await store.watchesReady();
  fs.mkdirSync(join(root, 'nodes/pve9/lxc'), { recursive: true });
  fs.writeFileSync(join(root, 'nodes/pve9/lxc/300.conf'), 'x\n');
  await until(() => seen.length > 0);
  t.deepEqual(seen, [{ type: 'write', path: 'nodes/pve9/lxc/300.conf', digest: sha1('x\n') }]);
});


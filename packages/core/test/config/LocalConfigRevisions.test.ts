import test from 'ava';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConfigStore, configDigest } from '../../src/config/LocalConfigStore.js';
import type { ConfigChange } from '../../src/config/ConfigStore.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { spawnChild } from '../../src/testing/spawnChild.js';

function tempRoot(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'corral-rev-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects a watch's changes; `until(n)` resolves once `n` have arrived. */
function collector() {
  const changes: ConfigChange[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  return {
    changes,
    onChange: (c: ConfigChange) => {
      changes.push(c);
      if (waiting && changes.length >= waiting.n) waiting.resolve();
    },
    until: (n: number) => (changes.length >= n ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { n, resolve }))),
  };
}

const A = 'nodes/a/qemu-server/100.conf';
const B = 'nodes/b/lxc/200.conf';

test('revisions: every change of two processes is logged in order; a watch from a revision gets exactly what changed since', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  t.teardown(() => store.close());
  await store.enableRevisions();
  await store.write(A, 'counter: 0\n');
  const start = await store.revision();
  // Another process increments A 20 times while this one writes B and deletes it.
  const child = spawnChild(new URL('./fixtures/casIncrementChild.js', import.meta.url), [root, A, '20']);
  t.teardown(() => child.kill());
  await store.write(B, 'hostname: ct\n');
  await store.delete(B);
  await child.waitFor(/^done \d+$/, 60_000);

  const all = collector();
  t.teardown(store.watchFrom('nodes', start, all.onChange));
  await all.until(22);
  const child20 = all.changes.filter((c) => c.path === A).map((c) => c.digest);
  t.deepEqual(child20, Array.from({ length: 20 }, (_, i) => configDigest(`counter: ${i + 1}\n`)), 'every write of the other process, in order');
  t.deepEqual(
    all.changes.filter((c) => c.path === B).map((c) => c.type),
    ['write', 'delete'],
  );
  const revisions = all.changes.map((c) => Number(c.revision));
  t.deepEqual([...revisions].sort((x, y) => x - y), revisions, 'increasing');
  t.is(new Set(revisions).size, revisions.length);
  t.is(String(revisions.at(-1)), await store.revision());

  // Resuming from the 10th change's revision gives the rest, and only under the prefix asked.
  const resumed = collector();
  t.teardown(store.watchFrom('nodes/a', all.changes[9]!.revision!, resumed.onChange));
  const rest = all.changes.slice(10).filter((c) => c.path === A);
  await resumed.until(rest.length);
  t.deepEqual(resumed.changes, rest);

  // Live: a change after the resume point arrives too, with its revision.
  await store.write(A, 'counter: 99\n');
  await resumed.until(rest.length + 1);
  t.like(resumed.changes.at(-1), { type: 'write', path: A, digest: configDigest('counter: 99\n'), revision: await store.revision() });
});

test('transactions log each change; plain watch events carry revisions once enabled; bad revisions are refused', async (t) => {
  const root = tempRoot(t);
  const plain = new LocalConfigStore({ root });
  t.throws(() => plain.watchFrom('', '0', () => undefined), { instanceOf: InvalidArgumentError, message: /enableRevisions/ });
  await plain.enableRevisions();
  const seen: ConfigChange[] = [];
  const stop = plain.watch('', (c) => seen.push(c));
  t.teardown(stop);
  await plain.write(A, 'x\n');
  await plain.move(A, B);
  t.deepEqual(
    seen.map((c) => [c.type, c.path, c.revision !== undefined]),
    [
      ['write', A, true],
      ['write', B, true],
      ['delete', A, true],
    ],
  );
  const past = String(Number(await plain.revision()) + 1);
  t.throws(() => plain.watchFrom('', past, () => undefined), { instanceOf: InvalidArgumentError });
  t.throws(() => plain.watchFrom('', 'abc', () => undefined), { instanceOf: InvalidArgumentError });
});

test('a watch skips an unreadable log line once and delivers each later change exactly once', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore({ root });
  t.teardown(() => store.close());
  await store.enableRevisions();
  await store.write(A, 'one\n');
  fs.appendFileSync(join(root, '.revisions', 'log'), '{"type":"write","pa\n');
  await store.write(B, 'two\n');
  const all = collector();
  t.teardown(store.watchFrom('', '0', all.onChange));
  await all.until(2);
  await store.write(A, 'three\n');
  await all.until(3);
  t.deepEqual(
    all.changes.map((c) => [c.path, c.digest]),
    [
      [A, configDigest('one\n')],
      [B, configDigest('two\n')],
      [A, configDigest('three\n')],
    ],
    'no change before the bad line is delivered again',
  );
  t.is(all.changes.at(-1)!.revision, await store.revision());
});

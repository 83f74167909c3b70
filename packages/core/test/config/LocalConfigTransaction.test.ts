import test from 'ava';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConfigStore, configDigest } from '../../src/config/LocalConfigStore.js';
import type { ConfigChange } from '../../src/config/ConfigStore.js';
import { moveConfigFile } from '../../src/config/moveConfigFile.js';
import { DigestMismatchError, ErrorCodes, InvalidArgumentError, NotFoundError } from '../../src/errors.js';
import { spawnChild } from '../../src/testing/spawnChild.js';

function tempRoot(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'corral-tx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const A = 'nodes/a/qemu-server/100.conf';
const B = 'nodes/b/qemu-server/100.conf';
const C = 'nodes/c/qemu-server/100.conf';

test('a transaction applies writes, deletes and checks together and reports the new digests', async (t) => {
  const store = new LocalConfigStore(tempRoot(t));
  const d1 = await store.write('x.cfg', 'x\n');
  await store.write('gone.cfg', 'bye\n');
  const seen: ConfigChange[] = [];
  const stop = store.watch('', (c) => seen.push(c));
  t.teardown(stop);
  const { digests } = await store.transaction([
    { type: 'write', path: 'x.cfg', content: 'x2\n', expectedDigest: d1 },
    { type: 'write', path: 'dir/new.cfg', content: 'new\n', expectedDigest: null },
    { type: 'delete', path: 'gone.cfg' },
    { type: 'check', path: 'absent.cfg', expectedDigest: null },
  ]);
  t.is(digests.get('x.cfg'), configDigest('x2\n'));
  t.is(digests.get('dir/new.cfg'), configDigest('new\n'));
  t.is((await store.read('x.cfg'))?.content, 'x2\n');
  t.is((await store.read('dir/new.cfg'))?.content, 'new\n');
  t.is(await store.read('gone.cfg'), null);
  t.deepEqual(
    seen.map((c) => `${c.type} ${c.path}`).sort(),
    ['delete gone.cfg', 'write dir/new.cfg', 'write x.cfg'],
  );
  t.deepEqual(fs.readdirSync(join(store.root, '.transactions')), [], 'journal removed');
});

test('one failed expectation leaves every file as it was, naming the path', async (t) => {
  const store = new LocalConfigStore(tempRoot(t));
  await store.write('x.cfg', 'x\n');
  await store.write('y.cfg', 'y\n');
  const err = await t.throwsAsync(
    store.transaction([
      { type: 'write', path: 'x.cfg', content: 'changed\n' },
      { type: 'delete', path: 'y.cfg' },
      { type: 'check', path: 'y.cfg2', expectedDigest: configDigest('nope') },
    ]),
    { instanceOf: DigestMismatchError },
  );
  t.regex(err!.message, /y\.cfg2/);
  t.is((await store.read('x.cfg'))?.content, 'x\n');
  t.is((await store.read('y.cfg'))?.content, 'y\n');
  const names = fs.readdirSync(store.root);
  t.false(names.some((n) => n.includes('.tmp-')), `no temp files: ${names.join(' ')}`);
  await t.throwsAsync(store.transaction([]), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(
    store.transaction([
      { type: 'check', path: 'x.cfg', expectedDigest: null },
      { type: 'delete', path: 'x.cfg' },
    ]),
    { instanceOf: InvalidArgumentError, message: /named twice/ },
  );
});

test('move: the config goes from one node to the other; a taken target or a missing source is refused', async (t) => {
  const store = new LocalConfigStore(tempRoot(t));
  const digest = await store.write(A, 'memory: 512\n');
  t.is(await store.move(A, B), digest);
  t.is(await store.read(A), null);
  t.is((await store.read(B))?.content, 'memory: 512\n');
  await t.throwsAsync(store.move(A, C), { instanceOf: NotFoundError });
  await store.write(C, 'other\n');
  await t.throwsAsync(store.move(B, C), { instanceOf: DigestMismatchError });
  await t.throwsAsync(store.move(B, A, { expectedDigest: configDigest('stale') }), { instanceOf: DigestMismatchError });
  t.is((await store.read(B))?.content, 'memory: 512\n', 'still at B after the refusals');
  await t.throwsAsync(moveConfigFile({ read: (p) => store.read(p) }, B, A), { instanceOf: InvalidArgumentError, message: /no transactions/ });
});

test('a transaction whose process died after its commit point is completed by recoverTransactions; one whose file changed since is not', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore(root);
  const before = await store.write(A, 'old\n');
  const keep = await store.write('kept.cfg', 'k\n');
  // What a process killed between the journal and the renames leaves: temp files and the journal.
  const dead = 4_194_305;
  const dirB = join(root, 'nodes/b/qemu-server');
  fs.mkdirSync(dirB, { recursive: true });
  fs.writeFileSync(join(dirB, `.100.conf.tmp-${dead}-aaaaaa`), 'old\n');
  fs.writeFileSync(join(root, `.kept.cfg.tmp-${dead}-bbbbbb`), 'lost\n');
  fs.mkdirSync(join(root, '.transactions'));
  const journal = {
    steps: [
      { path: B, before: null, tmp: `.100.conf.tmp-${dead}-aaaaaa` },
      { path: 'kept.cfg', before: configDigest('something else'), tmp: `.kept.cfg.tmp-${dead}-bbbbbb` },
      { path: A, before },
    ],
  };
  fs.writeFileSync(join(root, '.transactions', `${dead}-cccccc.json`), JSON.stringify(journal));
  t.is(await store.recoverTransactions(), 1);
  t.is(await store.read(A), null, 'the delete was completed');
  t.is((await store.read(B))?.content, 'old\n', 'the rename was completed');
  t.is((await store.read('kept.cfg'))?.digest, keep, 'a file changed since keeps its content');
  t.false(fs.existsSync(join(root, `.kept.cfg.tmp-${dead}-bbbbbb`)));
  t.deepEqual(fs.readdirSync(join(root, '.transactions')), []);
});

test('two processes: transactions over two files never interleave (both counters always move together)', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore(root);
  await store.write(A, 'counter: 0\n');
  await store.write(B, 'counter: 0\n');
  const script = new URL('./fixtures/txChild.js', import.meta.url);
  // Opposite path orders: a lock order per call would deadlock; the store's sorted order does not.
  const children = [spawnChild(script, [root, 'pair', A, B, '50']), spawnChild(script, [root, 'pair', B, A, '50'])];
  t.teardown(() => children.forEach((c) => c.kill()));
  const lines = await Promise.all(children.map((c) => c.waitFor(/^done \d+$/, 120_000)));
  t.is((await store.read(A))?.content, 'counter: 100\n');
  t.is((await store.read(B))?.content, 'counter: 100\n');
  t.log(`retries after DigestMismatchError: ${lines.join(', ')}`);
});

test('two processes moving one config to two nodes at once: exactly one wins, exactly one copy exists', async (t) => {
  const root = tempRoot(t);
  const store = new LocalConfigStore(root);
  const script = new URL('./fixtures/txChild.js', import.meta.url);
  for (let round = 0; round < 5; round++) {
    await store.write(A, `round: ${round}\n`);
    const children = [spawnChild(script, [root, 'move', A, B]), spawnChild(script, [root, 'move', A, C])];
    t.teardown(() => children.forEach((c) => c.kill()));
    await Promise.all(children.map((c) => c.waitFor(/^ready$/, 20_000)));
    for (const c of children) c.send('go');
    const results = await Promise.all(children.map((c) => c.waitFor(/^(ok|err) /, 60_000)));
    t.is(results.filter((r) => r.startsWith('ok ')).length, 1, results.join(' | '));
    const loser = results.find((r) => r.startsWith('err '))!;
    t.true([ErrorCodes.digestMismatch, ErrorCodes.notFound].some((code) => loser === `err ${code}`), loser);
    const copies = [A, B, C].map((p) => fs.existsSync(join(root, p)));
    t.deepEqual(copies.filter(Boolean).length, 1, `round ${round}: ${copies.join(',')}`);
    t.false(copies[0]);
    await store.delete(copies[1] ? B : C);
  }
});

import test from 'ava';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalConfigStore } from '../../src/config/LocalConfigStore.js';
import type { ConfigStore } from '../../src/config/ConfigStore.js';
import { AlreadyExistsError, InvalidArgumentError, UnavailableError } from '../../src/errors.js';
import { CREATE_PLACEHOLDER, VMID_RESERVATION_DIR, allocateVmid, reserveVmid, usedVmids } from '../../src/guests/allocateVmid.js';
import { guestConfigPath } from '../../src/guests/guestConfigPaths.js';
import { ownProcessIdentity } from '../../src/util/processIdentity.js';

function store(t: { teardown(fn: () => void): void }): LocalConfigStore {
  const dir = fs.mkdtempSync(join(tmpdir(), 'corral-vmid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new LocalConfigStore({ root: dir, fsync: false });
}

async function seed(s: ConfigStore, paths: string[]): Promise<void> {
  for (const p of paths) await s.write(p, 'memory: 512\n');
}

const cases: Array<{ description: string; existing: string[]; min?: number; expected: number }> = [
  { description: 'empty store starts at 100', existing: [], expected: 100 },
  { description: 'skips existing qemu ids', existing: ['nodes/a/qemu-server/100.conf', 'nodes/a/qemu-server/101.conf'], expected: 102 },
  {
    description: 'ids are unique across types and nodes',
    existing: ['nodes/a/qemu-server/100.conf', 'nodes/b/lxc/101.conf', 'nodes/c/qemu-server/102.conf'],
    expected: 103,
  },
  { description: 'fills the lowest gap', existing: ['nodes/a/qemu-server/100.conf', 'nodes/a/lxc/102.conf'], expected: 101 },
  { description: 'respects min', existing: ['nodes/a/qemu-server/200.conf'], min: 200, expected: 201 },
  {
    description: 'ignores files that are not <vmid>.conf',
    existing: ['nodes/a/qemu-server/100.conf.bak', 'nodes/a/qemu-server/notes', 'nodes/a/qemu-server/0100.conf'],
    expected: 100,
  },
];

for (const c of cases) {
  test(`allocateVmid: ${c.description}`, async (t) => {
    const s = store(t);
    await seed(s, c.existing);
    t.is(await allocateVmid(s, { min: c.min }), c.expected);
  });
}

test('allocateVmid with an explicit node list only looks there', async (t) => {
  const s = store(t);
  await seed(s, ['nodes/a/qemu-server/100.conf', 'nodes/b/qemu-server/101.conf']);
  t.is(await allocateVmid(s, { nodes: ['a'] }), 101);
  t.is(await allocateVmid(s, { nodes: ['a', 'b'] }), 102);
});

test('allocateVmid refuses bad ranges and reports a full range', async (t) => {
  const s = store(t);
  await t.throwsAsync(allocateVmid(s, { min: 99 }), { instanceOf: InvalidArgumentError });
  await t.throwsAsync(allocateVmid(s, { min: 200, max: 150 }), { instanceOf: InvalidArgumentError });
  await seed(s, ['nodes/a/qemu-server/100.conf', 'nodes/a/lxc/101.conf']);
  await t.throwsAsync(allocateVmid(s, { max: 101 }), { instanceOf: UnavailableError });
});

test('reserveVmid writes the lock: create placeholder and never reuses an existing id', async (t) => {
  const s = store(t);
  await seed(s, ['nodes/a/qemu-server/100.conf', 'nodes/b/lxc/101.conf']);
  const r = await reserveVmid(s, { node: 'a', type: 'lxc' });
  t.is(r.vmid, 102);
  t.is(r.path, 'nodes/a/lxc/102.conf');
  const file = await s.read(r.path);
  t.is(file?.content, CREATE_PLACEHOLDER);
  t.is(file?.digest, r.digest);
  t.deepEqual(await s.list(VMID_RESERVATION_DIR), []); // claim dropped
  t.is(await allocateVmid(s), 103);
  // existing ids, whatever type or node
  const e = await t.throwsAsync(reserveVmid(s, { node: 'a', type: 'qemu', vmid: 101 }), { instanceOf: AlreadyExistsError });
  t.is(e?.code, 'CORRAL_ERR_ALREADY_EXISTS');
  await t.throwsAsync(reserveVmid(s, { node: 'c', type: 'qemu', vmid: 102 }), { instanceOf: AlreadyExistsError });
  t.is((await reserveVmid(s, { node: 'c', type: 'qemu', vmid: 500 })).path, 'nodes/c/qemu-server/500.conf');
  t.is(guestConfigPath('a', 'qemu', 100), 'nodes/a/qemu-server/100.conf');
});

test('concurrent reservations get distinct ids, across types', async (t) => {
  const s = store(t);
  await seed(s, ['nodes/a/qemu-server/101.conf']);
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => reserveVmid(s, { node: i % 3 === 0 ? 'b' : 'a', type: i % 2 ? 'qemu' : 'lxc' })),
  );
  const ids = results.map((r) => r.vmid).sort((a, b) => a - b);
  t.is(new Set(ids).size, 30);
  t.false(ids.includes(101));
  t.deepEqual(ids, [100, ...Array.from({ length: 29 }, (_, i) => 102 + i)]);
  const used = await usedVmids(s);
  t.is(used.size, 31);
});

test('a stale reservation of a crashed creator is removed; a fresh one is respected', async (t) => {
  const s = store(t);
  await s.write(`${VMID_RESERVATION_DIR}/100`, JSON.stringify({ node: 'a', type: 'qemu', pid: 1, time: Date.now() - 3_600_000 }));
  await s.write(`${VMID_RESERVATION_DIR}/101`, JSON.stringify({ node: 'a', type: 'qemu', pid: 1, time: Date.now() }));
  t.is(await allocateVmid(s, { nodes: [] }), 100);
  t.deepEqual(await s.list(VMID_RESERVATION_DIR), ['101']);
  t.is((await reserveVmid(s, { node: 'a', type: 'qemu' })).vmid, 100);
  t.is((await reserveVmid(s, { node: 'a', type: 'qemu' })).vmid, 102);
});

test('a claim without a start time, or that is JSON null, is judged by its age (not taken for a running creator)', async (t) => {
  const s = store(t);
  const { started: _started, ...noStart } = { ...ownProcessIdentity(), pid: 4_194_305 };
  await s.write(`${VMID_RESERVATION_DIR}/100`, JSON.stringify({ node: 'a', type: 'qemu', ...noStart, time: Date.now() - 3_600_000 }));
  await s.write(`${VMID_RESERVATION_DIR}/101`, 'null');
  t.is(await allocateVmid(s, { nodes: [] }), 100);
  t.deepEqual(await s.list(VMID_RESERVATION_DIR), []);
});

test('a claim names its creator: one of a dead process of this boot is stale at once, a running one is kept whatever its time', async (t) => {
  const s = store(t);
  const me = ownProcessIdentity();
  const dead = { ...me, pid: 4_194_305 };
  await s.write(`${VMID_RESERVATION_DIR}/100`, JSON.stringify({ node: 'a', type: 'qemu', ...dead, time: Date.now() + 3_600_000 }));
  await s.write(`${VMID_RESERVATION_DIR}/101`, JSON.stringify({ node: 'a', type: 'qemu', ...me, time: 0 }));
  await s.write(`${VMID_RESERVATION_DIR}/102`, JSON.stringify({ node: 'a', type: 'qemu', ...me, started: 'not-me', time: Date.now() + 3_600_000 }));
  t.is(await allocateVmid(s, { nodes: [] }), 100);
  t.deepEqual(await s.list(VMID_RESERVATION_DIR), ['101']);
  const r = await reserveVmid(s, { node: 'a', type: 'qemu', min: 101 });
  t.is(r.vmid, 102);
  t.deepEqual(await s.list(VMID_RESERVATION_DIR), ['101'], 'the winning claim went in the same transaction as the placeholder');
});

/**
 * The privilege default for drivers that declare nothing (written for plugin API 1): unknown
 * is privileged. Drivers that declare their uses get exactly what they declare.
 */
import test from 'ava';
import { Type } from '@sinclair/typebox';
import { guestPrivilegedUses, privilegedOptionUses, type HypervisorDriver, type PrivilegedUse, type StorageDriver } from '../../src/index.js';

/** A hypervisor driver with only what the function reads (API 1 drivers have no `privilegedUses`). */
function hypervisor(privilegedUses?: HypervisorDriver['privilegedUses']): HypervisorDriver {
  return { info: { type: 'acme' }, ...(privilegedUses ? { privilegedUses } : {}) } as unknown as HypervisorDriver;
}

/** A storage driver with only what the function reads. */
function storage(privilegedOptions?: readonly string[], privilegedUses?: StorageDriver['privilegedUses']): StorageDriver {
  return {
    info: { type: 'acmefs', optionsSchema: Type.Object({}), ...(privilegedOptions ? { privilegedOptions } : {}) },
    ...(privilegedUses ? { privilegedUses } : {}),
  } as unknown as StorageDriver;
}

const keysOf = (uses: readonly PrivilegedUse[]) => uses.map((u) => u.key);

test('a hypervisor driver without privilegedUses: every key present counts as privileged', (t) => {
  const uses = guestPrivilegedUses(hypervisor(), { memory: '512', cores: '1' }, ['memory', 'cores', 'absent', 'memory'], { create: true });
  t.deepEqual(keysOf(uses), ['memory', 'cores']);
  t.regex(uses[0]!.reason, /'acme' guest.*plugin API 1/);
});

test('a hypervisor driver with privilegedUses: its answer, with the same arguments', (t) => {
  const calls: unknown[][] = [];
  const driver = hypervisor((...args) => {
    calls.push(args);
    return [{ key: 'args', reason: 'raw arguments' }];
  });
  const uses = guestPrivilegedUses(driver, { memory: '512', args: '-foo' }, ['memory', 'args'], { create: true });
  t.deepEqual(uses, [{ key: 'args', reason: 'raw arguments' }]);
  t.deepEqual(calls, [[{ memory: '512', args: '-foo' }, ['memory', 'args'], { create: true }]]);
});

const STORAGE_ROWS: ReadonlyArray<{ description: string; declared?: readonly string[]; keys: string[]; expected: string[] }> = [
  { description: 'undeclared (API 1): every option, common ones included', keys: ['path', 'content', 'nodes'], expected: ['path', 'content', 'nodes'] },
  { description: 'undeclared (API 1): a deleted option too', keys: ['disable'], expected: ['disable'] },
  { description: 'declared: only the listed options', declared: ['path'], keys: ['path', 'content'], expected: ['path'] },
  { description: 'declared empty: nothing', declared: [], keys: ['path', 'content'], expected: [] },
];

for (const row of STORAGE_ROWS) {
  test(`storage options, ${row.description}`, (t) => {
    t.deepEqual(keysOf(privilegedOptionUses(storage(row.declared), row.keys, {})), row.expected);
  });
}

test('storage options: the driver\'s own privilegedUses are added to the declared or default ones', (t) => {
  const driver = storage(undefined, (options) => (options.keyring === undefined ? [{ key: 'keyring', reason: 'host credentials' }] : []));
  t.deepEqual(keysOf(privilegedOptionUses(driver, ['pool'], { pool: 'rbd' })), ['pool', 'keyring']);
});

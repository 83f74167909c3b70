/**
 * `ha/resources.cfg`, `ha/groups.cfg` and `ha/rules.cfg`: byte-exact round trip of Proxmox's
 * written shape, semantic round trip of Proxmox's own rules samples (test/fixtures/ha-rules),
 * and one test per kind of error (code, file, line, option).
 */
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { ErrorCodes, type CorralError, type ParseError } from '@corral/core';
import {
  parseHaGroups,
  parseHaResources,
  parseHaRules,
  serializeHaGroups,
  serializeHaResources,
  serializeHaRules,
  toHaResource,
} from '../src/index.js';

const SAMPLES = new URL('../../test/fixtures/ha-rules/', import.meta.url);

const RESOURCES =
  'vm: 100\n\tstate started\n\tgroup prefer1\n\tmax_restart 3\n\n' +
  'ct: 200\n\tcomment web front\n\tstate enabled\n\tfailback 0\n\tmax_relocate 0\n\n' +
  'vm: 101\n\n';
const GROUPS = 'group: prefer1\n\tnodes node1:2,node2,node3:0\n\trestricted 1\n\n' + 'group: any\n\tcomment all of them\n\tnodes a,b\n\tnofailback 0\n\n';
const RULES =
  'node-affinity: on-node1\n\tresources vm:101,ct:102\n\tnodes node1:2,node2\n\tstrict 1\n\n' +
  'resource-affinity: apart\n\tresources vm:101,vm:103\n\taffinity negative\n\tdisable 1\n\n';

test('resources.cfg: parsed into the typed model and written back byte for byte', (t) => {
  const entries = parseHaResources(RESOURCES);
  t.deepEqual(entries, [
    { sid: 'vm:100', state: 'started', group: 'prefer1', maxRestart: 3 },
    { sid: 'ct:200', comment: 'web front', state: 'enabled', failback: false, maxRelocate: 0 },
    { sid: 'vm:101' },
  ]);
  t.is(serializeHaResources(entries), RESOURCES);
});

test('resources.cfg: core HaResource gets Proxmox defaults, enabled is started', (t) => {
  t.deepEqual(parseHaResources(RESOURCES).map(toHaResource), [
    { sid: 'vm:100', state: 'started', group: 'prefer1', maxRestart: 3, maxRelocate: 1 },
    { sid: 'ct:200', state: 'started', maxRestart: 1, maxRelocate: 0 },
    { sid: 'vm:101', state: 'started', maxRestart: 1, maxRelocate: 1 },
  ]);
});

test('groups.cfg: node priorities, flags and written back byte for byte', (t) => {
  const groups = parseHaGroups(GROUPS);
  t.deepEqual(groups[0]!.nodes, [
    { node: 'node1', priority: 2 },
    { node: 'node2', priority: 0 },
    { node: 'node3', priority: 0 },
  ]);
  t.is(groups[0]!.restricted, true);
  t.is(groups[1]!.nofailback, false);
  t.is(serializeHaGroups(groups), GROUPS);
});

test('rules.cfg: node-affinity and resource-affinity written back byte for byte', (t) => {
  const rules = parseHaRules(RULES);
  t.is(rules[0]!.type, 'node-affinity');
  t.deepEqual(rules[0]!.resources, ['vm:101', 'ct:102']);
  t.is(rules[1]!.type === 'resource-affinity' && rules[1].affinity, 'negative');
  t.is(serializeHaRules(rules), RULES);
});

test("rules.cfg: every one of Proxmox's rules_cfgs samples parses and reads back the same", async (t) => {
  const files = (await readdir(SAMPLES)).filter((f) => f.endsWith('.cfg'));
  t.is(files.length, 12);
  for (const file of files) {
    const rules = parseHaRules(await readFile(new URL(file, SAMPLES), 'utf8'), file);
    t.true(rules.length > 0, file);
    const written = serializeHaRules(rules);
    t.deepEqual(parseHaRules(written), rules, file);
    t.is(serializeHaRules(parseHaRules(written)), written, file);
  }
});

/** Asserts a coded parse error naming file, line and (when given) the option. */
function parseFails(t: import('ava').ExecutionContext, run: () => unknown, file: string, line: number, words: readonly string[]): void {
  const error = t.throws(run) as ParseError;
  t.is(error.code, ErrorCodes.parse);
  t.is(error.line, line);
  t.true(error.message.startsWith(`${file}:${line}:`), error.message);
  for (const word of words) t.true(error.message.includes(word), `${error.message} should name ${word}`);
}

test('error: a line outside any section', (t) => {
  parseFails(t, () => parseHaResources('\tstate started\n'), 'ha/resources.cfg', 1, []);
});
test('error: a resource that is not vm:<vmid> or ct:<vmid>', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\nvm: abc\n\tstate started\n'), 'ha/resources.cfg', 3, ['vm: abc']);
  parseFails(t, () => parseHaResources('service: 100\n'), 'ha/resources.cfg', 1, ['service: 100']);
});
test('error: an unknown option', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\tstate started\n\tbogus 1\n'), 'ha/resources.cfg', 3, ["'bogus'", 'unknown option']);
});
test('error: a state that is not one Proxmox knows', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\tstate running\n'), 'ha/resources.cfg', 2, ["'state'", 'running']);
});
test('error: a count that is not a non-negative integer', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\tmax_restart -1\n'), 'ha/resources.cfg', 2, ["'max_restart'"]);
  parseFails(t, () => parseHaResources('vm: 100\n\tmax_relocate 99999999999\n'), 'ha/resources.cfg', 2, ["'max_relocate'"]);
});
test('error: a boolean that is not one', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\tfailback maybe\n'), 'ha/resources.cfg', 2, ["'failback'", 'boolean']);
});
test('error: a group id that is not one', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\tgroup 1x\n'), 'ha/resources.cfg', 2, ["'group'"]);
});
test('error: a resource given twice', (t) => {
  parseFails(t, () => parseHaResources('vm: 100\n\nvm: 100\n'), 'ha/resources.cfg', 3, ['100']);
});
test('error: a comment longer than 4096 characters', (t) => {
  parseFails(t, () => parseHaResources(`vm: 100\n\tcomment ${'x'.repeat(4097)}\n`), 'ha/resources.cfg', 2, ["'comment'"]);
});
test('error: a group without nodes', (t) => {
  parseFails(t, () => parseHaGroups('group: g1\n\trestricted 1\n'), 'ha/groups.cfg', 1, ["'nodes'", 'missing']);
});
test('error: a bad node list (bad name, node twice, too many)', (t) => {
  parseFails(t, () => parseHaGroups('group: g1\n\tnodes node1,-bad\n'), 'ha/groups.cfg', 2, ["'nodes'", '-bad']);
  parseFails(t, () => parseHaGroups('group: g1\n\tnodes node1:1,node1:2\n'), 'ha/groups.cfg', 2, ['twice']);
  const many = Array.from({ length: 1025 }, (_, i) => `n${i}`).join(',');
  parseFails(t, () => parseHaGroups(`group: g1\n\tnodes ${many}\n`), 'ha/groups.cfg', 2, ['1024']);
});
test('error: a section type the file does not have', (t) => {
  parseFails(t, () => parseHaGroups('pool: g1\n\tnodes a\n'), 'ha/groups.cfg', 1, ["'pool'"]);
  parseFails(t, () => parseHaRules('colocation: r1\n\tresources vm:100\n'), 'ha/rules.cfg', 1, ["'colocation'"]);
});
test('error: a rule missing a required option or with a bad value', (t) => {
  parseFails(t, () => parseHaRules('resource-affinity: r1\n\tresources vm:100,vm:101\n'), 'ha/rules.cfg', 1, ["'affinity'", 'missing']);
  parseFails(t, () => parseHaRules('resource-affinity: r1\n\tresources vm:100,vm:101\n\taffinity sideways\n'), 'ha/rules.cfg', 3, ["'affinity'"]);
  parseFails(t, () => parseHaRules('node-affinity: r1\n\tresources vm:100,qemu:1\n\tnodes a\n'), 'ha/rules.cfg', 2, ["'resources'", 'qemu:1']);
});
test('error: an option of the other rule type', (t) => {
  parseFails(t, () => parseHaRules('resource-affinity: r1\n\tresources vm:100\n\taffinity positive\n\tstrict 1\n'), 'ha/rules.cfg', 4, ["'strict'", 'unknown option']);
});
test('error: writing a model that would not read back', (t) => {
  t.is(t.throws<CorralError>(() => serializeHaResources([{ sid: 'vm:1' }]))!.code, ErrorCodes.parse);
  t.is(t.throws<CorralError>(() => serializeHaResources([{ sid: 'vm:100', maxRestart: -1 }]))!.code, ErrorCodes.parse);
  t.is(t.throws<CorralError>(() => serializeHaGroups([{ group: 'g1', nodes: [] }]))!.code, ErrorCodes.parse);
});

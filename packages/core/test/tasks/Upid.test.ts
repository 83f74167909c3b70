import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeUpid, isUpid, parseUpid, processStartTicks, upidLogSubdir, type UpidFields } from '../../src/tasks/Upid.js';
import { makeTempDir } from '../../src/testing/tempDir.js';

// Format of pve-common PVE::Tools::upid_encode: "UPID:%s:%08X:%08X:%08X:%s:%s:%s:".
const table: Array<{ description: string; fields: UpidFields; upid: string }> = [
  {
    description: 'qmstart of a VM',
    fields: { node: 'pve1', pid: 0x1a2b, pstart: 0x0142a2b3, starttime: 0x5c3f1b1a, type: 'qmstart', id: '100', user: 'root@pam' },
    upid: 'UPID:pve1:00001A2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam:',
  },
  {
    description: 'empty id (node-wide task)',
    fields: { node: 'node-2', pid: 1, pstart: 0, starttime: 0, type: 'aptupdate', id: '', user: 'admin@pve' },
    upid: 'UPID:node-2:00000001:00000000:00000000:aptupdate::admin@pve:',
  },
  {
    description: 'pstart beyond 32 bits takes 9 digits (uptime > 497 days)',
    fields: { node: 'n', pid: 4194304, pstart: 0x1_0000_0001, starttime: 0xffffffff, type: 'vzdump', id: '200', user: 'root@pam!token' },
    upid: 'UPID:n:00400000:100000001:FFFFFFFF:vzdump:200:root@pam!token:',
  },
  {
    description: 'storage task with a storage id',
    fields: { node: 'PVE', pid: 0xabcdef, pstart: 0x1234, starttime: 1700000000, type: 'imgdel', id: 'local-lvm', user: 'u@pve' },
    upid: 'UPID:PVE:00ABCDEF:00001234:6553F100:imgdel:local-lvm:u@pve:',
  },
];

for (const row of table) {
  test(`UPID encode/parse: ${row.description}`, (t) => {
    t.is(encodeUpid(row.fields), row.upid);
    t.deepEqual(parseUpid(row.upid), row.fields);
    t.true(isUpid(row.upid));
  });
}

test('parseUpid accepts lower-case hex (as Proxmox does)', (t) => {
  t.is(parseUpid('UPID:pve1:00001a2b:0142a2b3:5c3f1b1a:qmstart:100:root@pam:').pid, 0x1a2b);
});

const invalid: Array<{ description: string; upid: string }> = [
  { description: 'no trailing colon', upid: 'UPID:pve1:00001A2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam' },
  { description: 'short pid', upid: 'UPID:pve1:1A2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam:' },
  { description: 'bad node', upid: 'UPID:-pve:00001A2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam:' },
  { description: 'missing user', upid: 'UPID:pve1:00001A2B:0142A2B3:5C3F1B1A:qmstart:100::' },
  { description: 'not hex', upid: 'UPID:pve1:0000XA2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam:' },
  { description: 'wrong prefix', upid: 'UPIX:pve1:00001A2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam:' },
  { description: 'empty', upid: '' },
];

for (const row of invalid) {
  test(`parseUpid refuses: ${row.description}`, (t) => {
    const err = t.throws(() => parseUpid(row.upid), { instanceOf: InvalidArgumentError });
    t.is((err as InvalidArgumentError).argument, 'upid');
    t.false(isUpid(row.upid));
  });
}

test('encodeUpid refuses what it cannot encode, naming the field', (t) => {
  const ok: UpidFields = { node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'x', id: '', user: 'root@pam' };
  const bad: Array<[Partial<UpidFields>, string]> = [
    [{ node: 'pve_1' }, 'node'],
    [{ type: '' }, 'type'],
    [{ type: 'a:b' }, 'type'],
    [{ id: 'a b' }, 'id'],
    [{ user: '' }, 'user'],
    [{ pid: -1 }, 'pid'],
    [{ pid: 2 ** 32 }, 'pid'],
    [{ starttime: 1.5 }, 'starttime'],
    [{ pstart: 16 ** 9 }, 'pstart'],
  ];
  for (const [patch, argument] of bad) {
    const err = t.throws(() => encodeUpid({ ...ok, ...patch }), { instanceOf: InvalidArgumentError });
    t.is((err as InvalidArgumentError).argument, argument);
  }
});

test('log subdirectory is the last hex digit of the starttime, as /var/log/pve/tasks/<X>/', (t) => {
  t.is(upidLogSubdir('UPID:pve1:00001A2B:0142A2B3:5C3F1B1A:qmstart:100:root@pam:'), 'A');
  t.is(upidLogSubdir('UPID:n:00400000:100000001:FFFFFFF3:vzdump:200:root@pam:'), '3');
});

/** Field 22 (starttime) of /proc/<pid>/stat, parsed here without the code under test. */
function statField22(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses; the greedy match ends
  // at the last ')'. The fields after it are 3, 4, ...
  const m = /^\d+ \((.*)\) (.*)$/s.exec(stat.trim());
  if (!m) throw new Error(`unexpected /proc/${pid}/stat: ${stat}`);
  return Number(m[2]!.split(/\s+/)[22 - 3]);
}

test('processStartTicks is field 22 of /proc/<pid>/stat, also for a process whose name holds spaces and parentheses', async (t) => {
  const mine = processStartTicks();
  t.is(mine, statField22(process.pid));
  t.true(Number.isSafeInteger(mine) && mine! > 0);
  t.is(processStartTicks(process.pid), mine);
  // A program named "x) 1 (2 3" (a copy of sleep): a parser that stops at the first ')' or
  // counts fields from the start reads another field.
  const dir = await makeTempDir(t, 'corral-upid-');
  const odd = join(dir, 'x) 1 (2 3');
  await copyFile('/bin/sleep', odd);
  await chmod(odd, 0o755);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const child = spawn(odd, ['600'], { stdio: 'ignore', signal: ac.signal });
  child.on('error', () => undefined);
  await once(child, 'spawn');
  t.is(readFileSync(`/proc/${child.pid}/comm`, 'utf8'), 'x) 1 (2 3\n');
  const expected = statField22(child.pid!);
  t.is(processStartTicks(child.pid), expected);
  // The name matters: counting fields from the start of the line lands elsewhere.
  t.not(Number(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(' ')[22 - 1]), expected);
  t.is(processStartTicks(2 ** 30), null);
});

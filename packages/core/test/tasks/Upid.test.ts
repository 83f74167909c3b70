import test from 'ava';
import { InvalidArgumentError } from '../../src/errors.js';
import { encodeUpid, isUpid, parseUpid, processStartTicks, upidLogSubdir, type UpidFields } from '../../src/tasks/Upid.js';

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

test('processStartTicks reads /proc/<pid>/stat field 22', (t) => {
  const mine = processStartTicks();
  t.true(Number.isSafeInteger(mine) && mine! > 0);
  t.is(processStartTicks(process.pid), mine);
  t.is(processStartTicks(2 ** 30), null);
});

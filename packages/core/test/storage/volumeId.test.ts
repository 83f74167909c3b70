import test from 'ava';
import { ErrorCodes, parseVolumeId } from '../../src/index.js';

const good: Array<{ description: string; input: string; expected: { storage: string; volname: string } }> = [
  { description: 'dir image', input: 'local:100/vm-100-disk-0.qcow2', expected: { storage: 'local', volname: '100/vm-100-disk-0.qcow2' } },
  { description: 'linked clone', input: 'local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', expected: { storage: 'local', volname: '100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2' } },
  { description: 'iso', input: 'local:iso/debian.iso', expected: { storage: 'local', volname: 'iso/debian.iso' } },
  { description: 'rbd image', input: 'ceph-pool:vm-100-disk-1', expected: { storage: 'ceph-pool', volname: 'vm-100-disk-1' } },
  { description: 'colon in volname', input: 'nfs:100/a:b.raw', expected: { storage: 'nfs', volname: '100/a:b.raw' } },
  { description: 'dots in storage id', input: 'my.store_1:x', expected: { storage: 'my.store_1', volname: 'x' } },
];

const bad: Array<{ description: string; input: string; message: RegExp }> = [
  { description: 'no colon', input: 'local', message: /expected 'storeid:volname'/ },
  { description: 'empty storage', input: ':x', message: /not a valid storage id/ },
  { description: 'storage starting with digit', input: '1local:x', message: /not a valid storage id/ },
  { description: 'empty volname', input: 'local:', message: /empty volume name/ },
  { description: 'traversal', input: 'local:../etc/passwd', message: /traversal/ },
  { description: 'traversal in the middle', input: 'local:100/../../x', message: /traversal/ },
  { description: 'dot segment', input: 'local:./x', message: /traversal/ },
  { description: 'absolute path', input: 'local:/etc/passwd', message: /absolute/ },
  { description: 'NUL byte', input: 'local:x\0y', message: /NUL/ },
  { description: 'backslash', input: 'local:..\\x', message: /backslash/ },
  { description: 'empty segment', input: 'local:100//x', message: /empty path segment/ },
];

for (const row of good) {
  test(`parses ${row.description}`, (t) => {
    t.deepEqual(parseVolumeId(row.input), row.expected);
  });
}

for (const row of bad) {
  test(`rejects ${row.description}`, (t) => {
    const err = t.throws(() => parseVolumeId(row.input));
    t.is((err as { code?: string }).code, ErrorCodes.invalidVolumeId);
    t.regex(err!.message, row.message);
    t.is((err as { volid?: string }).volid, row.input);
  });
}

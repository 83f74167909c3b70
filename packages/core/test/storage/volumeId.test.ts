import test from 'ava';
import { ErrorCodes, parseVolumeId } from '../../src/index.js';

const good: Array<{ description: string; input: string; expected: { storage: string; volname: string } }> = [
  { description: 'dir image', input: 'local:100/vm-100-disk-0.qcow2', expected: { storage: 'local', volname: '100/vm-100-disk-0.qcow2' } },
  { description: 'linked clone', input: 'local:100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', expected: { storage: 'local', volname: '100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2' } },
  { description: 'iso', input: 'local:iso/debian.iso', expected: { storage: 'local', volname: 'iso/debian.iso' } },
  { description: 'rbd image', input: 'ceph-pool:vm-100-disk-1', expected: { storage: 'ceph-pool', volname: 'vm-100-disk-1' } },
  { description: 'colon in volname', input: 'nfs:100/a:b.raw', expected: { storage: 'nfs', volname: '100/a:b.raw' } },
  { description: 'dots in storage id', input: 'my.store_1:x', expected: { storage: 'my.store_1', volname: 'x' } },
  { description: 'spaces inside a name (Proxmox allows them in iso names)', input: 'nas:iso/My Install Disk.iso', expected: { storage: 'nas', volname: 'iso/My Install Disk.iso' } },
  { description: 'non-ASCII letters and a surrogate pair', input: 'local:iso/d\u00e9bian-\u{1f600}.iso', expected: { storage: 'local', volname: 'iso/d\u00e9bian-\u{1f600}.iso' } },
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
  { description: 'a line feed (would split the config line)', input: 'local:iso/a\nb.iso', message: /U\+000A \(line feed\)/ },
  { description: 'a carriage return', input: 'local:vm-100\r-disk-0', message: /U\+000D \(carriage return\)/ },
  { description: 'a tab', input: 'local:vm-100-disk-0\t', message: /U\+0009 \(tab\)/ },
  { description: 'U+2028 (a line terminator to JavaScript)', input: 'local:iso/a\u2028b.iso', message: /U\+2028 \(line separator\)/ },
  { description: 'an unpaired surrogate (no UTF-8 form)', input: 'local:iso/a\ud800.iso', message: /unpaired surrogate/ },
  { description: 'DEL', input: 'local:iso/a\x7f.iso', message: /U\+007F/ },
  { description: 'a C1 control character', input: 'local:iso/a\x85.iso', message: /U\+0085/ },
  { description: 'a trailing space', input: 'local:100/vm-100-disk-0.qcow2 ', message: /white space at the start or end/ },
  { description: 'a leading no-break space', input: 'local:\u00a0iso/a.iso', message: /white space at the start or end/ },
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

test('rejects a volume id longer than PATH_MAX', (t) => {
  const err = t.throws(() => parseVolumeId(`local:iso/${'a'.repeat(5000)}.iso`));
  t.is((err as { code?: string }).code, ErrorCodes.invalidVolumeId);
  t.regex(err!.message, /longer than 4096 characters/);
});

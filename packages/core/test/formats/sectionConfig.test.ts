import test from 'ava';
import { readFileSync } from 'node:fs';
import { InvalidConfigError, ParseError } from '../../src/errors.js';
import { parseSectionConfig, serializeSectionConfig, type ConfigSection } from '../../src/formats/sectionConfig.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/formats/${name}`, import.meta.url), 'utf8');

test('storage.cfg with dir, lvmthin, zfspool, rbd, nfs and cifs round-trips byte for byte', (t) => {
  const text = fixture('storage.cfg');
  const sections = parseSectionConfig(text, { source: 'storage.cfg' });
  t.deepEqual(
    sections.map((s) => `${s.type}: ${s.id}`),
    ['dir: local', 'lvmthin: local-lvm', 'zfspool: tank', 'rbd: ceph-vm', 'nfs: nas-backup', 'cifs: win-share'],
  );
  t.is(serializeSectionConfig(sections), text);
});

test('storage.cfg sections keep option order, values and flags', (t) => {
  const sections = parseSectionConfig(fixture('storage.cfg'));
  const byId = new Map(sections.map((s) => [s.id, s]));
  t.deepEqual(byId.get('local')!.options, { path: '/var/lib/vz', content: 'iso,vztmpl,backup', 'prune-backups': 'keep-all=1', shared: '0' });
  t.deepEqual(Object.keys(byId.get('local')!.options), ['path', 'content', 'prune-backups', 'shared']);
  t.is(byId.get('ceph-vm')!.options.monhost, '10.0.0.11 10.0.0.12 10.0.0.13', 'values keep inner spaces');
  t.is(byId.get('ceph-vm')!.options.krbd, '0');
  t.is(byId.get('nas-backup')!.options.disable, '', 'a flag without value');
  t.deepEqual(Object.keys(byId.get('nas-backup')!.options), ['disable', 'export', 'path', 'server', 'content', 'options', 'prune-backups']);
});

test('the default storage.cfg of a fresh Proxmox install', (t) => {
  const text = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n\n';
  const sections = parseSectionConfig(text);
  t.deepEqual(sections, [
    { type: 'dir', id: 'local', options: { path: '/var/lib/vz', content: 'iso,vztmpl,backup' } },
    { type: 'lvmthin', id: 'local-lvm', options: { thinpool: 'data', vgname: 'pve', content: 'rootdir,images' } },
  ]);
  t.is(serializeSectionConfig(sections), text);
});

const lenientInputs: Array<{ description: string; input: string; expected: ConfigSection[]; written: string }> = [
  {
    description: 'comments are dropped (as Proxmox does), space indentation becomes a tab',
    input: '# storage\ndir: local\n  # inner comment\n    path /var/lib/vz\n\n',
    expected: [{ type: 'dir', id: 'local', options: { path: '/var/lib/vz' } }],
    written: 'dir: local\n\tpath /var/lib/vz\n\n',
  },
  {
    description: 'no trailing empty line, trailing blanks after values',
    input: 'dir: a\n\tpath /a  \n\tdisable',
    expected: [{ type: 'dir', id: 'a', options: { path: '/a', disable: '' } }],
    written: 'dir: a\n\tpath /a\n\tdisable\n\n',
  },
  {
    description: 'a header right after an option line starts a new section',
    input: 'dir: a\n\tpath /a\ndir: b\n\tpath /b\n',
    expected: [
      { type: 'dir', id: 'a', options: { path: '/a' } },
      { type: 'dir', id: 'b', options: { path: '/b' } },
    ],
    written: 'dir: a\n\tpath /a\n\ndir: b\n\tpath /b\n\n',
  },
  {
    description: 'several empty lines and blank-only lines between sections',
    input: 'dir: a\n\tpath /a\n\n\n \t\ndir: b\n',
    expected: [
      { type: 'dir', id: 'a', options: { path: '/a' } },
      { type: 'dir', id: 'b', options: {} },
    ],
    written: 'dir: a\n\tpath /a\n\ndir: b\n\n',
  },
  { description: 'an empty file', input: '', expected: [], written: '' },
];

for (const c of lenientInputs) {
  test(`parseSectionConfig: ${c.description}`, (t) => {
    const sections = parseSectionConfig(c.input);
    t.deepEqual(sections, c.expected);
    t.is(serializeSectionConfig(sections), c.written);
  });
}

const parseErrors: Array<{ description: string; input: string; line: number; message: RegExp }> = [
  { description: 'an option outside a section', input: 'dir: a\n\n\tpath /a\n', line: 3, message: /expected a section header 'type: id'/ },
  { description: 'a header without id', input: 'dir:\n', line: 1, message: /expected a section header/ },
  { description: 'a repeated option', input: 'dir: a\n\tpath /a\n\tpath /b\n', line: 3, message: /section 'a': duplicate option 'path'/ },
  { description: 'a repeated section id', input: 'dir: a\n\nnfs: a\n', line: 3, message: /duplicate section 'a'/ },
  { description: 'an invalid type', input: '9p: a\n', line: 1, message: /invalid section type '9p'/ },
  { description: 'garbage inside a section', input: 'dir: a\n\tpath /a\nnot an option\n', line: 3, message: /section 'a': cannot parse option line 'not an option'/ },
];

for (const c of parseErrors) {
  test(`parseSectionConfig rejects ${c.description}`, (t) => {
    const err = t.throws(() => parseSectionConfig(c.input, { source: 'storage.cfg' }), { instanceOf: ParseError });
    t.is(err.line, c.line);
    t.regex(err.message, c.message);
    t.true(err.message.startsWith(`storage.cfg:${c.line}: `));
  });
}

const serializeErrors: Array<{ description: string; sections: ConfigSection[]; key: string; message: RegExp }> = [
  { description: 'a line feed in a value', sections: [{ type: 'dir', id: 'a', options: { path: '/a\n/b' } }], key: 'path', message: /line feed/ },
  { description: 'blanks around a value', sections: [{ type: 'dir', id: 'a', options: { path: ' /a' } }], key: 'path', message: /leading or trailing blanks/ },
  { description: 'a key with a space', sections: [{ type: 'dir', id: 'a', options: { 'my path': '/a' } }], key: 'my path', message: /invalid option key/ },
  { description: 'an id with a space', sections: [{ type: 'dir', id: 'my store', options: {} }], key: 'id', message: /invalid section id/ },
  { description: 'an invalid type', sections: [{ type: 'dir:x', id: 'a', options: {} }], key: 'type', message: /invalid section type/ },
  {
    description: 'a repeated id',
    sections: [
      { type: 'dir', id: 'a', options: {} },
      { type: 'nfs', id: 'a', options: {} },
    ],
    key: 'id',
    message: /duplicate section 'a'/,
  },
];

for (const c of serializeErrors) {
  test(`serializeSectionConfig refuses ${c.description}`, (t) => {
    const err = t.throws(() => serializeSectionConfig(c.sections), { instanceOf: InvalidConfigError });
    t.is(err.key, c.key);
    t.regex(err.message, c.message);
  });
}

test('repeatableKeys: a key given once per item (Proxmox array properties) reads joined with \\n and writes back line by line', (t) => {
  const text = 'subnet: z1-10.0.0.0-24\n\tvnet v1\n\tdhcp-range start-address=10.0.0.2,end-address=10.0.0.9\n\tdhcp-range start-address=10.0.0.20,end-address=10.0.0.29\n\n';
  const [section] = parseSectionConfig(text, { repeatableKeys: ['dhcp-range'] });
  t.is(section!.options['dhcp-range'], 'start-address=10.0.0.2,end-address=10.0.0.9\nstart-address=10.0.0.20,end-address=10.0.0.29');
  t.is(serializeSectionConfig([section!], { repeatableKeys: ['dhcp-range'] }), text);
  // Without the option a repeated key stays an error, and a joined value cannot be written.
  t.throws(() => parseSectionConfig(text), { code: 'CORRAL_ERR_PARSE', message: /:4: .*duplicate option 'dhcp-range'/ });
  t.throws(() => serializeSectionConfig([section!]), { code: 'CORRAL_ERR_INVALID_CONFIG' });
});

import test from 'ava';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, InvalidConfigError, ParseError } from '../../src/errors.js';
import {
  deleteConfigValue,
  formatPendingDelete,
  getConfigValue,
  parsePendingDelete,
  setConfigValue,
} from '../../src/formats/configEntries.js';
import { parseGuestConfig, serializeGuestConfig, type GuestConfig } from '../../src/formats/guestConfig.js';
import { decodeProxmoxText, encodeProxmoxText } from '../../src/formats/proxmoxText.js';

// Tests run from dist/test/formats; the fixtures stay in the source tree.
const fixture = (name: string): string => readFileSync(new URL(`../../../test/fixtures/formats/${name}`, import.meta.url), 'utf8');

const roundTrips: Array<{ description: string; file: string; type: 'qemu' | 'lxc' }> = [
  { description: 'VM with description, pending changes, cloud-init and two snapshots', file: 'qemu-101.conf', type: 'qemu' },
  { description: 'VM with passthrough, args, numa, usb, legacy boot', file: 'qemu-102.conf', type: 'qemu' },
  { description: 'container with mount points, raw lxc keys, pending changes and snapshots', file: 'lxc-200.conf', type: 'lxc' },
];

for (const c of roundTrips) {
  test(`guest config round trip, byte for byte: ${c.description}`, (t) => {
    const text = fixture(c.file);
    const config = parseGuestConfig(text, { type: c.type, source: c.file });
    t.is(serializeGuestConfig(config), text);
    // A copy without the parser's remembered description lines re-encodes them the same.
    const copy: GuestConfig = structuredClone(config);
    const reencoded = serializeGuestConfig(copy);
    t.is(parseGuestConfig(reencoded, { type: c.type }).description, config.description);
  });
}

test('VM config: sections, description decoding, pending and special sections', (t) => {
  const config = parseGuestConfig(fixture('qemu-101.conf'), { type: 'qemu' });
  t.is(config.type, 'qemu');
  t.is(config.description, 'Web shop front end: production\n\nOwner: Jürgen (ops), 50% of traffic');
  t.is(getConfigValue(config, 'net0'), 'virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1,tag=20');
  t.is(config.entries[0]!.key, 'agent');
  t.is(config.entries.length, 33);
  t.deepEqual(config.pending, {
    description: 'Web shop front end: production (resized)',
    entries: [
      { key: 'cores', value: '8' },
      { key: 'delete', value: 'net1,!unused0' },
      { key: 'memory', value: '8192' },
    ],
  });
  t.deepEqual([...config.special.keys()], ['cloudinit']);
  t.is(getConfigValue(config.special.get('cloudinit')!, 'ipconfig0'), 'ip=10.0.0.5/24,gw=10.0.0.1');
  t.deepEqual([...config.snapshots.keys()], ['before-upgrade', 'fresh-install']);
  const snap = config.snapshots.get('before-upgrade')!;
  t.is(snap.description, 'Before the upgrade to Debian 12');
  t.is(getConfigValue(snap, 'vmstate'), 'local-lvm:vm-101-state-before-upgrade');
  t.is(getConfigValue(snap, 'snaptime'), '1710000000');
  t.is(config.snapshots.get('fresh-install')!.description, undefined);
});

test('container config: [pve:pending] and repeated lxc.* keys in order', (t) => {
  const config = parseGuestConfig(fixture('lxc-200.conf'), { type: 'lxc' });
  t.is(config.description, 'Mail relay\nManaged by the ops team');
  t.deepEqual(
    config.entries.filter((e) => e.key.startsWith('lxc.')),
    [
      { key: 'lxc.cgroup2.devices.allow', value: 'c 10:200 rwm' },
      { key: 'lxc.mount.entry', value: '/dev/net dev/net none bind,create=dir' },
      { key: 'lxc.mount.entry', value: '/srv/certs etc/ssl/private none bind,ro,create=dir' },
    ],
  );
  t.deepEqual(config.pending?.entries, [
    { key: 'cores', value: '4' },
    { key: 'delete', value: 'mp1' },
  ]);
  t.deepEqual([...config.snapshots.keys()], ['pre-update', 'created']);
  t.is(config.special.size, 0);
});

test('container config accepts "lxc.key = value" and writes "lxc.key: value"', (t) => {
  const config = parseGuestConfig('arch: amd64\nlxc.apparmor.profile = unconfined\nlxc.cap.drop:\n', { type: 'lxc' });
  t.deepEqual(config.entries, [
    { key: 'arch', value: 'amd64' },
    { key: 'lxc.apparmor.profile', value: 'unconfined' },
    { key: 'lxc.cap.drop', value: '' },
  ]);
  t.is(serializeGuestConfig(config), 'arch: amd64\nlxc.apparmor.profile: unconfined\nlxc.cap.drop: \n');
});

test('an empty file is an empty config, and writes back empty', (t) => {
  const config = parseGuestConfig('', { type: 'qemu' });
  t.deepEqual(config, { type: 'qemu', entries: [], special: new Map(), snapshots: new Map() });
  t.is(serializeGuestConfig(config), '');
});

test('values lose surrounding blanks, blank lines are ignored, as in Proxmox', (t) => {
  const config = parseGuestConfig('\n\ncores:    2   \n\n  \nname: vm1\r\n', { type: 'qemu' });
  t.deepEqual(config.entries, [
    { key: 'cores', value: '2' },
    { key: 'name', value: 'vm1' },
  ]);
  t.is(serializeGuestConfig(config), 'cores: 2\nname: vm1\n');
});

test('old "description:" keys join the description', (t) => {
  const config = parseGuestConfig('description: hello%3A world\nmemory: 512\n', { type: 'qemu' });
  t.is(config.description, 'hello: world');
  t.is(serializeGuestConfig(config), '#hello%3A world\nmemory: 512\n');
});

const blankDescriptions: Array<{ description: string; type: 'qemu' | 'lxc'; input: string; read: (c: GuestConfig) => unknown; expected: unknown; written: string }> = [
  // qemu-server writes no blank description; pve-container neither: it reads back as none.
  { description: "'description: %0A' in a VM", type: 'qemu', input: 'description: %0A\nmemory: 512\n', read: (c) => c.description, expected: undefined, written: 'memory: 512\n' },
  { description: "'description: %0A' in a container", type: 'lxc', input: 'description: %0A\nhostname: ct1\n', read: (c) => c.description, expected: undefined, written: 'hostname: ct1\n' },
  {
    description: "a blank description in a container's pending section",
    type: 'lxc',
    input: 'hostname: ct1\n\n[pve:pending]\ndescription: %20\nmemory: 1024\n',
    read: (c) => c.pending,
    expected: { entries: [{ key: 'memory', value: '1024' }] },
    written: 'hostname: ct1\n\n[pve:pending]\nmemory: 1024\n',
  },
  {
    description: 'a blank description in a snapshot',
    type: 'lxc',
    input: '[snap1]\ndescription: %09%0A\nsnaptime: 1\n',
    read: (c) => c.snapshots.get('snap1')!.description,
    expected: undefined,
    written: '\n[snap1]\nsnaptime: 1\n',
  },
  // A lone '#' line is kept as written, though it reads as no description.
  { description: "a lone '#' line", type: 'qemu', input: '#\nmemory: 512\n', read: (c) => c.description, expected: undefined, written: '#\nmemory: 512\n' },
  // qemu-server's mark of a description being emptied: '' in a VM's [PENDING], written as a lone '#'.
  { description: "'description: %0A' in a VM's [PENDING]", type: 'qemu', input: 'memory: 512\n\n[PENDING]\ndescription: %0A\n', read: (c) => c.pending?.description, expected: '', written: 'memory: 512\n\n[PENDING]\n#\n' },
];

for (const row of blankDescriptions) {
  test(`a blank description reads as it is written: ${row.description}`, (t) => {
    const config = parseGuestConfig(row.input, { type: row.type });
    t.deepEqual(row.read(config), row.expected);
    const written = serializeGuestConfig(config);
    t.is(written, row.written);
    t.deepEqual(row.read(parseGuestConfig(written, { type: row.type })), row.expected);
  });
}

const parseErrors: Array<{ description: string; type: 'qemu' | 'lxc'; input: string; line: number; message: RegExp }> = [
  { description: 'a line that is not key: value', type: 'qemu', input: 'memory: 512\nthis is not a config line\n', line: 2, message: /unable to parse config line 'this is not a config line'/ },
  { description: 'a key without value', type: 'qemu', input: 'memory:\n', line: 1, message: /'memory' has no value/ },
  { description: 'a repeated key', type: 'qemu', input: 'memory: 512\ncores: 1\nmemory: 1024\n', line: 3, message: /duplicate key 'memory'/ },
  { description: 'delete outside [PENDING]', type: 'qemu', input: 'delete: net0\n', line: 1, message: /'delete' is only allowed in the pending section/ },
  { description: 'an unknown section', type: 'qemu', input: 'memory: 512\n\n[pve:pending]\ncores: 2\n', line: 3, message: /unknown section '\[pve:pending\]'/ },
  { description: '[special:...] in a container', type: 'lxc', input: 'memory: 512\n\n[special:cloudinit]\n', line: 3, message: /unknown section '\[special:cloudinit\]'/ },
  { description: 'a one-letter snapshot name', type: 'qemu', input: '[a]\n', line: 1, message: /unknown section '\[a\]'/ },
  { description: 'a repeated snapshot', type: 'lxc', input: '[snap1]\nmemory: 1\n\n[snap1]\n', line: 4, message: /duplicate snapshot section 'snap1'/ },
  { description: 'a repeated pending section', type: 'qemu', input: '[PENDING]\ncores: 1\n[pending]\n', line: 3, message: /duplicate pending section/ },
  { description: 'raw lxc keys in a VM config', type: 'qemu', input: 'lxc.apparmor.profile: unconfined\n', line: 1, message: /unable to parse config line/ },
  { description: 'a dash in a container key', type: 'lxc', input: 'amd-sev: x\n', line: 1, message: /unable to parse config line/ },
];

for (const c of parseErrors) {
  test(`parseGuestConfig rejects ${c.description}`, (t) => {
    const err = t.throws(() => parseGuestConfig(c.input, { type: c.type, source: '100.conf' }), { instanceOf: ParseError });
    t.is(err.line, c.line);
    t.is(err.source, '100.conf');
    t.regex(err.message, c.message);
    t.true(err.message.startsWith(`100.conf:${c.line}: `), err.message);
  });
}

test('parseGuestConfig refuses an unknown guest type', (t) => {
  const err = t.throws(() => parseGuestConfig('', { type: 'openvz' as 'qemu' }), { instanceOf: InvalidArgumentError });
  t.is(err.argument, 'type');
});

test('a changed description is written with Proxmox escaping', (t) => {
  const config = parseGuestConfig(fixture('qemu-101.conf'), { type: 'qemu' });
  config.description = 'Owner: Zoë\n\n100% done\ttabbed';
  const text = serializeGuestConfig(config);
  t.true(text.startsWith('#Owner%3A Zo%C3%AB\n#\n#100%25 done%09tabbed\nagent: 1,'), text.slice(0, 80));
  t.is(parseGuestConfig(text, { type: 'qemu' }).description, 'Owner: Zoë\n\n100% done\ttabbed');
});

test('an empty pending description is written as a lone "#" (qemu-server)', (t) => {
  const config = parseGuestConfig('memory: 512\n', { type: 'qemu' });
  config.pending = { description: '', entries: [] };
  const text = serializeGuestConfig(config);
  t.is(text, 'memory: 512\n\n[PENDING]\n#\n');
  t.is(parseGuestConfig(text, { type: 'qemu' }).pending?.description, '');
  t.is(serializeGuestConfig(parseGuestConfig(text, { type: 'qemu' })), text);
});

test('an empty pending section is left out, and not written', (t) => {
  const config = parseGuestConfig('memory: 512\n\n[PENDING]\n', { type: 'qemu' });
  t.is(config.pending, undefined);
  t.is(serializeGuestConfig(config), 'memory: 512\n');
});

test('a model built in code is written in Proxmox layout', (t) => {
  const config: GuestConfig = {
    type: 'lxc',
    description: 'built: in code',
    entries: [
      { key: 'hostname', value: 'ct1' },
      { key: 'memory', value: '256' },
      { key: 'lxc.idmap', value: 'u 0 100000 65536' },
    ],
    pending: { entries: [{ key: 'memory', value: '512' }] },
    special: new Map(),
    snapshots: new Map([['s1', { entries: [{ key: 'memory', value: '128' }, { key: 'snaptime', value: '1' }] }]]),
  };
  t.is(
    serializeGuestConfig(config),
    '#built%3A in code\nhostname: ct1\nmemory: 256\nlxc.idmap: u 0 100000 65536\n\n[pve:pending]\nmemory: 512\n\n[s1]\nmemory: 128\nsnaptime: 1\n',
  );
});

const serializeErrors: Array<{ description: string; mutate: (c: GuestConfig) => void; key: string; message: RegExp }> = [
  { description: 'a line feed in a value', mutate: (c) => c.entries.push({ key: 'args', value: '-a\n-b' }), key: 'args', message: /line feed/ },
  { description: 'surrounding blanks', mutate: (c) => c.entries.push({ key: 'name', value: 'vm ' }), key: 'name', message: /leading or trailing blanks/ },
  { description: 'an invalid key', mutate: (c) => c.entries.push({ key: 'Bad Key', value: '1' }), key: 'Bad Key', message: /not a valid qemu config key/ },
  { description: 'a repeated key', mutate: (c) => c.entries.push({ key: 'memory', value: '1' }, { key: 'memory', value: '2' }), key: 'memory', message: /duplicate/ },
  { description: 'description as an entry', mutate: (c) => c.entries.push({ key: 'description', value: 'x' }), key: 'description', message: /not an entry/ },
  { description: 'delete in the main section', mutate: (c) => c.entries.push({ key: 'delete', value: 'net0' }), key: 'delete', message: /only allowed in the pending section/ },
];

for (const c of serializeErrors) {
  test(`serializeGuestConfig refuses ${c.description}`, (t) => {
    const config = parseGuestConfig('', { type: 'qemu' });
    c.mutate(config);
    const err = t.throws(() => serializeGuestConfig(config), { instanceOf: InvalidConfigError });
    t.is(err.key, c.key);
    t.regex(err.message, c.message);
  });
}

test('serializeGuestConfig refuses bad section names', (t) => {
  const config = parseGuestConfig('', { type: 'qemu' });
  config.snapshots.set('pending', { entries: [] });
  t.throws(() => serializeGuestConfig(config), { instanceOf: InvalidArgumentError, message: /reserved/ });
  config.snapshots.clear();
  config.snapshots.set('bad name', { entries: [] });
  t.throws(() => serializeGuestConfig(config), { instanceOf: InvalidArgumentError, message: /invalid snapshot name 'bad name'/ });
  const ct = parseGuestConfig('', { type: 'lxc' });
  ct.special.set('cloudinit', { entries: [] });
  t.throws(() => serializeGuestConfig(ct), { instanceOf: InvalidArgumentError, message: /no special sections/ });
});

test('entry helpers read and change entries in place', (t) => {
  const config = parseGuestConfig('cores: 1\nmemory: 512\nname: a\n', { type: 'qemu' });
  setConfigValue(config, 'memory', '1024');
  setConfigValue(config, 'sockets', '2');
  t.true(deleteConfigValue(config, 'cores'));
  t.false(deleteConfigValue(config, 'cores'));
  t.is(getConfigValue(config, 'memory'), '1024');
  t.is(getConfigValue(config, 'nope'), undefined);
  t.is(serializeGuestConfig(config), 'memory: 1024\nname: a\nsockets: 2\n');
});

test('pending delete lists', (t) => {
  t.deepEqual(parsePendingDelete('net1,!ide2 ; scsi0'), [
    { key: 'net1', force: false },
    { key: 'ide2', force: true },
    { key: 'scsi0', force: false },
  ]);
  t.is(formatPendingDelete(parsePendingDelete('net1,!ide2;scsi0')), 'net1,!ide2,scsi0');
  t.deepEqual(parsePendingDelete('net1,!net1'), [{ key: 'net1', force: true }]);
  const err = t.throws(() => parsePendingDelete('net1,!'), { instanceOf: InvalidConfigError });
  t.is(err.key, 'delete');
});

test('Proxmox text escaping', (t) => {
  // '%' is escaped as pve-common does since 8.2 ("fix #5486: tools: encode_text: add '%' to list of encoded characters").
  t.is(encodeProxmoxText('a:b ü\t%'), 'a%3Ab %C3%BC%09%25');
  t.is(decodeProxmoxText('a%3ab %C3%BC%09%'), 'a:b ü\t%');
  t.is(decodeProxmoxText('100%zz%4'), '100%zz%4', 'incomplete escapes stay');
  t.is(decodeProxmoxText('%FF'), '\uFFFD', 'invalid UTF-8 becomes U+FFFD');
  t.is(decodeProxmoxText('raw ü'), 'raw ü');
});

test('round trip of what Proxmox and vzdump write: an empty boot order, comments after the keys, no final line feed', (t) => {
  const cases = [
    'boot: \ncores: 2\n',
    '#note\ncores: 2\n#qmdump#map:scsi0:drive-scsi0:local:raw:\nmemory: 512\n#qmdump#map:efidisk0:drive-efidisk0:local::\n\n[snap]\ncores: 1\n#after\n',
    'cores: 2\nmemory: 512',
  ];
  for (const text of cases) t.is(serializeGuestConfig(parseGuestConfig(text, { type: 'qemu' })), text);
  const vzdump = parseGuestConfig(cases[1]!, { type: 'qemu' });
  t.is(vzdump.description, 'note', 'comments after the first key are not the description');
  t.is(getConfigValue(parseGuestConfig(cases[0]!, { type: 'qemu' }), 'boot'), '');
  // changed entries keep the comments before them
  setConfigValue(vzdump, 'memory', '1024');
  t.regex(serializeGuestConfig(vzdump), /#qmdump#map:scsi0:drive-scsi0:local:raw:\nmemory: 1024\n/);
});

test('special sections: only the ones qemu-server knows', (t) => {
  t.throws(() => parseGuestConfig('cores: 1\n\n[special:bogus]\ncores: 2\n', { type: 'qemu' }), { instanceOf: ParseError, message: /unknown special section '\[special:bogus\]'/ });
  t.is(parseGuestConfig('cores: 1\n\n[special:fleecing]\nfleecing-images: local:vm-1-fleece-0\n', { type: 'qemu' }).special.size, 1);
  const c = parseGuestConfig('cores: 1\n', { type: 'qemu' });
  c.special.set('bogus', { entries: [] });
  t.throws(() => serializeGuestConfig(c), { instanceOf: InvalidArgumentError, message: /unknown special section name 'bogus'/ });
});

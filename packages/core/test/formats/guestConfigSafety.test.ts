/**
 * Guest `.conf` reader and writer agree on what a config may hold: what the writer refuses
 * (control characters, U+2028/U+2029, unpaired surrogates, keys ending in `:`, oversized
 * values) the reader refuses too, with coded errors, and what both accept reads back the
 * same. Every parse is bounded (`bench/parser-safety.mjs` times the adversarial inputs). Rows
 * marked "fuzz" were found by the parser fuzz test on the code before this change.
 */
import test from 'ava';
import { InvalidArgumentError, InvalidConfigError, ParseError } from '../../src/errors.js';
import { parseGuestConfig, serializeGuestConfig, type GuestConfig } from '../../src/formats/guestConfig.js';
import { GUEST_CONFIG_ADVERSARIAL } from '../support/adversarialInputs.js';

/** `CONFIG_LIMITS.valueLength`, spelled out so that these rows also run against older code. */
const VALUE_LIMIT = 64 * 1024;

const big = (n: number): string => 'x'.repeat(n);

const unreadable: Array<{ description: string; type: 'qemu' | 'lxc'; input: string; line: number; expected: RegExp }> = [
  { description: 'U+2028 in a value (it made the whole guest list fail)', type: 'qemu', input: 'name: a\u2028b\n', line: 1, expected: /value of 'name' contains U\+2028 \(line separator\) at position 2/ },
  { description: 'U+2029 in a value', type: 'lxc', input: 'hostname: ct\u2029\n', line: 1, expected: /U\+2029 \(paragraph separator\)/ },
  { description: 'a NUL in a value', type: 'qemu', input: 'memory: 512\nargs: -a\0b\n', line: 2, expected: /value of 'args' contains U\+0000 \(NUL\)/ },
  { description: 'a carriage return inside a value', type: 'qemu', input: 'name: a\rb\n', line: 1, expected: /U\+000D \(carriage return\)/ },
  { description: 'an escape character', type: 'qemu', input: 'args: \x1b[31m\n', line: 1, expected: /U\+001B \(control character\)/ },
  { description: 'DEL', type: 'lxc', input: 'hostname: a\x7f\n', line: 1, expected: /U\+007F/ },
  { description: 'a C1 control character (NEL)', type: 'qemu', input: 'name: a\x85\n', line: 1, expected: /U\+0085/ },
  { description: 'an unpaired surrogate (no UTF-8 form)', type: 'qemu', input: 'name: a\ud800\n', line: 1, expected: /unpaired surrogate/ },
  { description: 'a raw lxc value with U+2028', type: 'lxc', input: 'lxc.mount.entry: /a\u2028 b none bind 0 0\n', line: 1, expected: /value of 'lxc.mount.entry' contains U\+2028/ },
  { description: 'a control character in a snapshot section', type: 'qemu', input: 'memory: 1\n\n[snap1]\nname: \x01\n', line: 4, expected: /U\+0001/ },
  { description: 'a control character in the pending section', type: 'lxc', input: '[pve:pending]\ncores: 1\x02\n', line: 2, expected: /U\+0002/ },
  { description: 'a description that decodes to NUL', type: 'qemu', input: '#nul%00here\nmemory: 1\n', line: 1, expected: /description contains U\+0000 \(NUL\)/ },
  { description: 'a description line with a raw U+2028', type: 'qemu', input: '#a\u2028b\n', line: 1, expected: /description contains U\+2028/ },
  { description: 'an old description key that decodes to a control character', type: 'qemu', input: 'description: a%1Bb\n', line: 1, expected: /description contains U\+001B/ },
  { description: 'a value longer than 64 KiB', type: 'qemu', input: `args: ${big(VALUE_LIMIT + 1)}\n`, line: 1, expected: /value of 'args' is longer than 65536 characters/ },
  { description: 'a 300 KB args line', type: 'qemu', input: `memory: 512\nargs: ${big(300_000)}\n`, line: 2, expected: /line is longer than 131072 characters/ },
  { description: 'a key longer than 128 characters', type: 'qemu', input: `${'k'.repeat(200)}: 1\n`, line: 1, expected: /is longer than 128 characters/ },
  { description: 'a snapshot name longer than 128 characters', type: 'lxc', input: `[s${'n'.repeat(200)}]\n`, line: 1, expected: /section name is longer than 128 characters/ },
];

for (const row of unreadable) {
  test(`parseGuestConfig refuses ${row.description}`, (t) => {
    const err = t.throws(() => parseGuestConfig(row.input, { type: row.type, source: '100.conf' }), { instanceOf: ParseError });
    t.is(err.line, row.line);
    t.regex(err.message, row.expected);
  });
}

test('parseGuestConfig refuses a file larger than 1 MiB', (t) => {
  const text = `${'#'.repeat(1000)}\n`.repeat(1100);
  t.throws(() => parseGuestConfig(text, { type: 'qemu', source: '100.conf' }), { instanceOf: ParseError, message: /larger than 1048576 bytes/ });
});

const base = (): GuestConfig => ({ type: 'qemu', entries: [], special: new Map(), snapshots: new Map() });

const unwritable: Array<{ description: string; mutate: (c: GuestConfig) => void; key: string; expected: RegExp }> = [
  { description: "a key ending in ':' (it was written as 'net0:: 1' and read back as net0)", mutate: (c) => c.entries.push({ key: 'net0:', value: '1' }), key: 'net0:', expected: /not a valid qemu config key/ },
  { description: 'U+2028 in a value (fuzz)', mutate: (c) => c.entries.push({ key: 'name', value: 'a\u2028b' }), key: 'name', expected: /U\+2028/ },
  { description: 'U+2029 in a value', mutate: (c) => c.entries.push({ key: 'args', value: '-a\u2029' }), key: 'args', expected: /U\+2029/ },
  { description: 'a NUL in a value', mutate: (c) => c.entries.push({ key: 'args', value: '-a\0' }), key: 'args', expected: /U\+0000 \(NUL\)/ },
  { description: 'a carriage return in a value (fuzz)', mutate: (c) => c.entries.push({ key: 'name', value: 'a\rb' }), key: 'name', expected: /U\+000D/ },
  { description: 'an unpaired surrogate (fuzz)', mutate: (c) => c.entries.push({ key: 'name', value: 'a\udc00' }), key: 'name', expected: /unpaired surrogate/ },
  { description: 'a trailing tab', mutate: (c) => c.entries.push({ key: 'name', value: 'a\t' }), key: 'name', expected: /leading or trailing blanks/ },
  { description: 'a value longer than 64 KiB', mutate: (c) => c.entries.push({ key: 'args', value: big(VALUE_LIMIT + 1) }), key: 'args', expected: /longer than 65536/ },
  { description: 'a key longer than 128 characters', mutate: (c) => c.entries.push({ key: 'k'.repeat(129), value: '1' }), key: 'k'.repeat(129), expected: /longer than 128/ },
  { description: 'a NUL in the description', mutate: (c) => (c.description = 'a\0b'), key: 'description', expected: /description contains U\+0000/ },
  { description: 'U+2028 in the description (fuzz)', mutate: (c) => (c.description = 'two\n\u2028lines'), key: 'description', expected: /description contains U\+2028/ },
  { description: 'a carriage return in the description', mutate: (c) => (c.description = 'a\r\nb'), key: 'description', expected: /description contains U\+000D/ },
  { description: 'a control character in the pending section', mutate: (c) => (c.pending = { entries: [{ key: 'cores', value: '1\x1f' }] }), key: 'cores', expected: /U\+001F/ },
  { description: 'a control character in a snapshot', mutate: (c) => c.snapshots.set('snap1', { entries: [{ key: 'name', value: '\x7f' }] }), key: 'name', expected: /U\+007F/ },
];

for (const row of unwritable) {
  test(`serializeGuestConfig refuses ${row.description}`, (t) => {
    const config = base();
    row.mutate(config);
    const err = t.throws(() => serializeGuestConfig(config), { instanceOf: InvalidConfigError });
    t.is(err.key, row.key);
    t.regex(err.message, row.expected);
  });
}

test('serializeGuestConfig refuses a config larger than 1 MiB', (t) => {
  const config = base();
  for (let i = 0; i < 20; i++) config.entries.push({ key: `unused${i}`, value: big(60_000) });
  t.throws(() => serializeGuestConfig(config), { instanceOf: InvalidArgumentError, message: /more than the 1048576/ });
});

const readBack: Array<{ description: string; type: 'qemu' | 'lxc'; input: string; written: string }> = [
  { description: 'CRLF line ends (fuzz: several CRs were not idempotent)', type: 'qemu', input: 'memory: 512\r\nname: a\r\r\r\n', written: 'memory: 512\nname: a\n' },
  { description: 'a tab and non-ASCII letters inside a value', type: 'qemu', input: 'args: -a\t-b ü\n', written: 'args: -a\t-b ü\n' },
  { description: 'a no-break space at the end is a value character (only space and tab are blanks)', type: 'lxc', input: 'hostname: a\u00a0\n', written: 'hostname: a\u00a0\n' },
  { description: 'an empty pending section is left out (fuzz)', type: 'qemu', input: 'memory: 1\n\n[PENDING]\n', written: 'memory: 1\n' },
  { description: 'description lines with nothing on them stay as they are', type: 'lxc', input: '#\n#\nmemory: 1\n', written: '#\n#\nmemory: 1\n' },
];

for (const row of readBack) {
  test(`reads back the same: ${row.description}`, (t) => {
    const config = parseGuestConfig(row.input, { type: row.type });
    const written = serializeGuestConfig(config);
    t.is(written, row.written);
    t.deepEqual(parseGuestConfig(written, { type: row.type }), config);
  });
}

test("a changed description with a literal '%41' reads back as written ('%' is escaped, as pve-common 8.2 does) (fuzz)", (t) => {
  const config = base();
  config.description = 'see 100%41 and %E2%80%A8, 50% off';
  const written = serializeGuestConfig(config);
  t.is(written, '#see 100%2541 and %25E2%2580%25A8, 50%25 off\n');
  t.is(parseGuestConfig(written, { type: 'qemu' }).description, config.description);
});

test('a description of only white space is not written (it would read back as no description) (fuzz)', (t) => {
  const config = base();
  config.description = '  \n\t\n';
  t.is(serializeGuestConfig(config), '');
  config.pending = { description: ' ', entries: [] };
  t.is(serializeGuestConfig(config), '\n[PENDING]\n#\n', "a VM's emptied pending description stays the lone '#'");
});

for (const row of GUEST_CONFIG_ADVERSARIAL) {
  test(`parseGuestConfig refuses ${row.description} with a ParseError (its time: bench/parser-safety.mjs)`, (t) => {
    for (const type of ['qemu', 'lxc'] as const) t.throws(() => parseGuestConfig(row.input, { type }), { instanceOf: ParseError }, type);
  });
}

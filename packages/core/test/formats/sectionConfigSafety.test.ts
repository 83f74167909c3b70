/**
 * storage.cfg reader and writer agree on what a section may hold, and one bad section does
 * not make the file unreadable: `readSectionConfig` skips it as Proxmox's SectionConfig does,
 * returns it apart with its coded error and lines, and the writer keeps those lines. Rows
 * marked "fuzz" were found by the parser fuzz test on the code before this change.
 */
import test from 'ava';
import { InvalidConfigError, ParseError } from '../../src/errors.js';
import { CONFIG_LIMITS } from '../../src/formats/configText.js';
import { parseSectionConfig, readSectionConfig, serializeSectionConfig, type ConfigSection } from '../../src/formats/sectionConfig.js';
import { MANY_BROKEN_SECTIONS, SECTION_CONFIG_ADVERSARIAL } from '../support/adversarialInputs.js';

const GOOD = 'dir: local\n\tpath /var/lib/vz\n\tcontent iso\n';

const skipped: Array<{ description: string; input: string; expected: { sections: string[]; invalid: Array<{ line: number; id?: string; message: RegExp }> } }> = [
  {
    description: 'U+2028 in a value (it made every storage operation fail)',
    input: `${GOOD}\ndir: bad\n\tpath /a\u2028b\n\nnfs: nas\n\tserver 10.0.0.1\n`,
    expected: { sections: ['local', 'nas'], invalid: [{ line: 6, id: 'bad', message: /section 'bad': value of 'path' contains U\+2028/ }] },
  },
  {
    description: 'a NUL in a value',
    input: `dir: bad\n\tpath /a\0\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 2, id: 'bad', message: /U\+0000 \(NUL\)/ }] },
  },
  {
    description: 'U+2028 in a section id',
    input: `dir: lo\u2028cal\n\tpath /x\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 1, id: 'lo\u2028cal', message: /invalid section id 'lo\\u2028cal'/ }] },
  },
  {
    description: 'a control character in a section id',
    input: `dir: a\x01b\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 1, id: 'a\x01b', message: /invalid section id/ }] },
  },
  {
    description: "an option key ending in ':'",
    input: `dir: a\n\tpath: /x\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 2, id: 'a', message: /invalid option key 'path:'/ }] },
  },
  {
    description: 'a repeated section (the later one is the invalid one)',
    input: `${GOOD}\ndir: local\n\tpath /other\n`,
    expected: { sections: ['local'], invalid: [{ line: 5, id: 'local', message: /duplicate section 'local'/ }] },
  },
  {
    description: 'option lines outside any section',
    input: `\tpath /x\n\tcontent iso\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 1, message: /expected a section header 'type: id', got the option line/ }] },
  },
  {
    description: 'a value longer than 64 KiB',
    input: `dir: big\n\tpath /${'x'.repeat(CONFIG_LIMITS.valueLength)}\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 2, id: 'big', message: /longer than 65536 characters/ }] },
  },
  {
    description: 'a line longer than 128 KiB',
    input: `dir: big\n\tpath /${'x'.repeat(CONFIG_LIMITS.lineLength)}\n\n${GOOD}`,
    expected: { sections: ['local'], invalid: [{ line: 2, id: 'big', message: /line is longer than 131072 characters/ }] },
  },
];

for (const row of skipped) {
  test(`readSectionConfig skips ${row.description}, keeps the others and can write it back`, (t) => {
    const read = readSectionConfig(row.input, { source: 'storage.cfg' });
    t.deepEqual(read.sections.map((s) => s.id), row.expected.sections);
    t.is(read.invalid.length, row.expected.invalid.length);
    row.expected.invalid.forEach((expected, i) => {
      const part = read.invalid[i]!;
      t.is(part.line, expected.line);
      t.is(part.id, expected.id);
      t.true(part.error instanceof ParseError);
      t.is(part.error.line, expected.line);
      t.regex(part.error.message, expected.message);
      t.true(part.error.message.startsWith(`storage.cfg:${expected.line}: `));
    });
    // The strict parser refuses the file with the first error.
    t.throws(() => parseSectionConfig(row.input, { source: 'storage.cfg' }), { instanceOf: ParseError, message: row.expected.invalid[0]!.message });
    // Written with its invalid parts, the file reads back as the same sections and parts.
    const written = serializeSectionConfig(read.sections, { invalid: read.invalid });
    const again = readSectionConfig(written);
    t.deepEqual(again.sections, read.sections);
    t.deepEqual(
      again.invalid.map((p) => [p.id, p.text]),
      read.invalid.map((p) => [p.id, p.text]),
    );
  });
}

const unwritable: Array<{ description: string; sections: ConfigSection[]; key: string; expected: RegExp }> = [
  { description: 'U+2028 in a value (fuzz)', sections: [{ type: 'dir', id: 'a', options: { path: '/a\u2028b' } }], key: 'path', expected: /value of 'path' contains U\+2028/ },
  { description: 'U+2029 in a value', sections: [{ type: 'dir', id: 'a', options: { nodes: 'n1\u2029' } }], key: 'nodes', expected: /U\+2029/ },
  { description: 'a NUL in a value', sections: [{ type: 'dir', id: 'a', options: { path: '/a\0' } }], key: 'path', expected: /U\+0000 \(NUL\)/ },
  { description: 'a carriage return in a value', sections: [{ type: 'dir', id: 'a', options: { path: '/a\r' } }], key: 'path', expected: /U\+000D/ },
  { description: 'a trailing tab', sections: [{ type: 'dir', id: 'a', options: { path: '/a\t' } }], key: 'path', expected: /leading or trailing blanks/ },
  { description: 'a value longer than 64 KiB', sections: [{ type: 'dir', id: 'a', options: { path: 'x'.repeat(CONFIG_LIMITS.valueLength + 1) } }], key: 'path', expected: /longer than 65536/ },
  { description: "an option key ending in ':'", sections: [{ type: 'dir', id: 'a', options: { 'path:': '/a' } }], key: 'path:', expected: /invalid option key 'path:'/ },
  { description: 'an option key with a control character', sections: [{ type: 'dir', id: 'a', options: { 'pa\x01th': '/a' } }], key: 'pa\x01th', expected: /invalid option key/ },
  { description: 'U+2028 in an id', sections: [{ type: 'dir', id: 'a\u2028', options: {} }], key: 'id', expected: /invalid section id/ },
  { description: 'a NUL in an id', sections: [{ type: 'dir', id: 'a\0', options: {} }], key: 'id', expected: /invalid section id/ },
  { description: 'a non-ASCII id', sections: [{ type: 'dir', id: 'lokál', options: {} }], key: 'id', expected: /invalid section id/ },
  { description: 'an id longer than 128 characters', sections: [{ type: 'dir', id: 'i'.repeat(129), options: {} }], key: 'id', expected: /longer than 128/ },
];

for (const row of unwritable) {
  test(`serializeSectionConfig refuses ${row.description}`, (t) => {
    const err = t.throws(() => serializeSectionConfig(row.sections), { instanceOf: InvalidConfigError });
    t.is(err.key, row.key);
    t.regex(err.message, row.expected);
  });
}

test("headers split like Proxmox's '^(\\S+):\\s*(\\S+)\\s*$'", (t) => {
  t.deepEqual(parseSectionConfig('dir:local\n'), [{ type: 'dir', id: 'local', options: {} }]);
  t.deepEqual(parseSectionConfig('dir: a:b\n'), [{ type: 'dir', id: 'a:b', options: {} }]);
  t.throws(() => parseSectionConfig('dir:a:b\n'), { instanceOf: ParseError, message: /invalid section type 'dir:a'/ });
  t.throws(() => parseSectionConfig('dir: a b\n'), { instanceOf: ParseError, message: /expected a section header/ });
});

test('a file of many broken parts reads: each is a part apart (their errors are made when asked for; the time: bench/parser-safety.mjs)', (t) => {
  const content = readSectionConfig(MANY_BROKEN_SECTIONS);
  t.is(content.sections.length, 0);
  t.is(content.invalid.length, 300_000);
  t.is(content.invalid[299_999]!.line, 599_999);
  t.regex(content.invalid[0]!.error.message, /expected a section header/);
});

for (const row of SECTION_CONFIG_ADVERSARIAL) {
  test(`readSectionConfig reads ${row.description} as unreadable parts with coded errors (the time: bench/parser-safety.mjs)`, (t) => {
    const content = readSectionConfig(row.input);
    t.deepEqual(content.sections, []);
    t.true(content.invalid.length > 0);
    for (const part of content.invalid) t.true(part.error instanceof ParseError, String(part.error));
    // Nothing of the input is lost: the parts' lines hold every character that is not a line feed.
    t.is(content.invalid.map((p) => p.text).join('').replace(/\n/g, '').length, row.input.replace(/\n/g, '').length);
  });
}

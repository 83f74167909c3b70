/**
 * Values that used to reach QEMU's command line as an uncoded URIError, or as a NUL that made
 * `spawn` throw a TypeError, are refused when the config is checked, with an
 * `InvalidConfigError` naming the key; what is accepted builds a command line without NUL.
 */
import test from 'ava';
import { InvalidConfigError } from '@corral/core';
import { buildQemuCommandLine } from '../src/cmdline/QemuCommandLine.js';
import { parseQemuConfig } from '../src/config/parseQemuConfig.js';
import { qemuRunPaths } from '../src/runtime/QemuRunPaths.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

const refused: Array<{ description: string; entries: Record<string, string>; key: string; expected: RegExp }> = [
  { description: 'smbios1 serial=%ZZ', entries: { smbios1: 'serial=%ZZ' }, key: 'smbios1', expected: /must be base64 characters/ },
  { description: 'a base64 smbios1 value that decodes to NUL', entries: { smbios1: `serial=${b64('a\0b')},base64=1` }, key: 'smbios1', expected: /serial decodes to text with a NUL/ },
  { description: 'a base64 smbios1 value that is not UTF-8', entries: { smbios1: `manufacturer=${Buffer.from([0xff, 0xfe]).toString('base64')},base64=1` }, key: 'smbios1', expected: /does not decode to UTF-8/ },
  { description: 'a drive serial=%ZZ', entries: { scsi0: 'local:100/vm-100-disk-0.raw,serial=%ZZ' }, key: 'scsi0', expected: /'%' must start an escape/ },
  { description: 'a drive serial that decodes to NUL', entries: { ide0: 'local:100/vm-100-disk-0.raw,serial=a%00' }, key: 'ide0', expected: /NUL/ },
  { description: 'an IDE model that is not UTF-8', entries: { ide0: 'local:100/vm-100-disk-0.raw,model=%C3' }, key: 'ide0', expected: /not UTF-8/ },
  { description: 'a 300 KB args', entries: { args: `-x ${'y'.repeat(300_000)}` }, key: 'args', expected: /longer than 65536 characters/ },
  { description: 'a NUL in args', entries: { args: '-append a\0b' }, key: 'args', expected: /U\+0000 \(NUL\)/ },
  { description: 'a name with a label over 63 characters', entries: { name: `${'a'.repeat(64)}.example` }, key: 'name', expected: /not a valid DNS name/ },
];

for (const row of refused) {
  test(`refused before start: ${row.description}`, (t) => {
    const err = t.throws(() => parseQemuConfig(row.entries, { vmid: 100 }), { instanceOf: InvalidConfigError });
    t.is(err.key, row.key);
    t.regex(err.message, row.expected);
  });
}

test('accepted encoded values reach the command line decoded, without NUL', (t) => {
  const config = parseQemuConfig(
    {
      smbios1: `uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,manufacturer=${b64('ACME, Inc. ü')},base64=1`,
      ide0: 'local:100/vm-100-disk-0.raw,serial=AB%20C,model=Disk%C3%BC',
    },
    { vmid: 100 },
  );
  const { argv } = buildQemuCommandLine({
    config,
    paths: qemuRunPaths('/run/corral/qemu/100'),
    host: { kvm: false, vhostNet: false },
    volumes: new Map([['ide0', { kind: 'file', path: '/x.raw', format: 'raw' }]]),
    paused: true,
    daemonize: true,
  });
  t.true(argv.includes('type=1,uuid=8b5a2e41-3c6f-4c9b-9f33-1d2e3f4a5b6c,manufacturer=ACME,, Inc. ü'));
  t.true(argv.some((a) => a.includes('serial=AB C') && a.includes('model=Diskü')), argv.join(' '));
  t.false(argv.some((a) => a.includes('\0')));
});

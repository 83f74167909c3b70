/**
 * The config schemas refuse, with an `InvalidConfigError` naming the key, what used to freeze
 * the event loop or to reach QEMU's command line as an uncoded error: the exponential
 * `runningcpu` pattern, bad percent-encoding, non-base64 `smbios1` values, oversized values,
 * control characters.
 */
import test from 'ava';
import { InvalidConfigError } from '../../src/errors.js';
import { parseQemuDrive } from '../../src/formats/schema/qemuDrive.js';
import { validateLxcConfig } from '../../src/formats/schema/lxcConfig.js';
import { validateQemuConfig } from '../../src/formats/schema/qemuConfig.js';

/** `CONFIG_LIMITS.valueLength`, spelled out so that these rows also run against older code. */
const VALUE_LIMIT = 64 * 1024;

const accepted: Array<{ description: string; key: string; input: string; expected: unknown }> = [
  { description: 'runningcpu as qemu-server writes it', key: 'runningcpu', input: 'kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep', expected: 'kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep' },
  { description: 'runningcpu with -flags, = and a trailing comma', key: 'runningcpu', input: 'host,-svm,+kvm_pv_eoi,hv-vendor-id=proxmox,', expected: 'host,-svm,+kvm_pv_eoi,hv-vendor-id=proxmox,' },
  { description: "runningcpu words joined by '+'", key: 'runningcpu', input: '+a+b,c', expected: '+a+b,c' },
  { description: 'smbios1 base64 values', key: 'smbios1', input: 'manufacturer=QUNNRSwgSW5jLg==,base64=1', expected: { manufacturer: 'QUNNRSwgSW5jLg==', base64: true } },
  { description: 'smbios1 plain values of base64 characters', key: 'smbios1', input: 'serial=ABC123,sku=x/y+z', expected: { serial: 'ABC123', sku: 'x/y+z' } },
  { description: 'cpu flags', key: 'cpu', input: 'host,flags=+aes;-pcid;+md-clear', expected: { cputype: 'host', flags: '+aes;-pcid;+md-clear' } },
  { description: 'a multi-line description', key: 'description', input: 'line one\nline two', expected: 'line one\nline two' },
];

for (const row of accepted) {
  test(`accepted: ${row.description}`, (t) => {
    t.deepEqual(validateQemuConfig({ [row.key]: row.input })[row.key as 'runningcpu'], row.expected);
  });
}

const refused: Array<{ description: string; key: string; input: string; expected: RegExp }> = [
  { description: 'runningcpu that made the old pattern backtrack for seconds', key: 'runningcpu', input: `${'a'.repeat(30)}!`, expected: /is not a QEMU -cpu argument/ },
  { description: 'runningcpu with an empty word', key: 'runningcpu', input: 'kvm64,,+sep', expected: /is not a QEMU -cpu argument/ },
  { description: "runningcpu with '++'", key: 'runningcpu', input: 'kvm64,++sep', expected: /is not a QEMU -cpu argument/ },
  { description: 'smbios1 serial=%ZZ (not base64, as qemu-server refuses it)', key: 'smbios1', input: 'serial=%ZZ', expected: /serial=%ZZ must be base64 characters/ },
  { description: 'smbios1 with a space', key: 'smbios1', input: 'manufacturer=ACME Inc', expected: /must be base64 characters/ },
  { description: 'smbios1 longer than 512 characters', key: 'smbios1', input: `serial=${'A'.repeat(510)}`, expected: /longer than 512 characters/ },
  { description: 'cpu flags outside the list', key: 'cpu', input: 'host,flags=+aes;-bogus', expected: /'-bogus', which is not/ },
  { description: 'cpu flags without a sign', key: 'cpu', input: 'host,flags=aes', expected: /'aes', which is not/ },
  { description: 'a 300 KB args', key: 'args', input: `-x ${'y'.repeat(300_000)}`, expected: /value of 'args' is longer than 65536 characters/ },
  { description: 'a NUL in args', key: 'args', input: '-kernel /k\0', expected: /value of 'args' contains U\+0000 \(NUL\)/ },
  { description: 'U+2028 in a name', key: 'name', input: 'a\u2028b', expected: /contains U\+2028/ },
  { description: 'a carriage return in a description', key: 'description', input: 'a\r\nb', expected: /contains U\+000D/ },
];

for (const row of refused) {
  test(`refused, naming the key: ${row.description}`, (t) => {
    const err = t.throws(() => validateQemuConfig({ [row.key]: row.input }), { instanceOf: InvalidConfigError });
    t.is(err.key, row.key);
    t.regex(err.message, row.expected);
  });
}

const drives: Array<{ description: string; input: string; expected: RegExp | { serial?: string; model?: string } }> = [
  { description: 'a percent-encoded serial', input: 'local:a.raw,serial=ABC%20D', expected: { serial: 'ABC%20D' } },
  { description: 'an encoded UTF-8 model', input: 'local:a.raw,model=Disk%C3%BC', expected: { model: 'Disk%C3%BC' } },
  { description: "serial=%ZZ (decodeURIComponent threw a URIError when QEMU's command line was built)", input: 'local:a.raw,serial=%ZZ', expected: /'%' must start an escape/ },
  { description: 'a serial ending in a lone %', input: 'local:a.raw,serial=AB%', expected: /'%' must start an escape/ },
  { description: 'a serial that is not UTF-8', input: 'local:a.raw,serial=%FF', expected: /not UTF-8/ },
  { description: 'a serial that decodes to NUL', input: 'local:a.raw,serial=A%00', expected: /NUL/ },
];

for (const row of drives) {
  test(`ide drive: ${row.description}`, (t) => {
    if (row.expected instanceof RegExp) {
      const err = t.throws(() => parseQemuDrive(row.input, { key: 'ide0' }), { instanceOf: InvalidConfigError });
      t.is(err.key, 'ide0');
      t.regex(err.message, row.expected);
    } else {
      t.like(parseQemuDrive(row.input, { key: 'ide0' }), row.expected);
    }
  });
}

test('container values: link-local name servers, and the same value limits', (t) => {
  t.is(validateLxcConfig({ nameserver: 'fe80::1%eth0 fe80::2%vmbr0.10' }).nameserver, 'fe80::1%eth0 fe80::2%vmbr0.10');
  t.throws(() => validateLxcConfig({ nameserver: `fe80::1%e${'t'.repeat(21)}` }), { instanceOf: InvalidConfigError, message: /not an IP address/ });
  const err = t.throws(() => validateLxcConfig({ 'lxc.mount.entry': `/a ${'b'.repeat(VALUE_LIMIT)}` }), { instanceOf: InvalidConfigError });
  t.is(err.key, 'lxc.mount.entry');
  t.throws(() => validateLxcConfig({ 'lxc.hook.pre-start': '/bin/true\nlxc.include = /etc/x' }), { instanceOf: InvalidConfigError, message: /U\+000A/ });
});

import test from 'ava';
import { ErrorCodes } from '@corral/core';
import { parseZfsBlocksize, parseZfsVolname, zfsBaseName } from '../src/index.js';

// As pve-storage's parse_volname_test.pm: description, input, expected.
const GOOD = [
  { description: 'zvol', input: 'vm-100-disk-0', expected: { name: 'vm-100-disk-0', vmid: 100, format: 'raw', content: 'images', isBase: false, baseVolname: undefined } },
  { description: 'subvol', input: 'subvol-100-disk-1', expected: { name: 'subvol-100-disk-1', vmid: 100, format: 'subvol', content: 'rootdir', isBase: false, baseVolname: undefined } },
  { description: 'zvol base', input: 'base-100-disk-0', expected: { name: 'base-100-disk-0', vmid: 100, format: 'raw', content: 'images', isBase: true, baseVolname: undefined } },
  { description: 'subvol base', input: 'basevol-100-disk-0', expected: { name: 'basevol-100-disk-0', vmid: 100, format: 'subvol', content: 'rootdir', isBase: true, baseVolname: undefined } },
  { description: 'linked zvol clone', input: 'base-100-disk-0/vm-101-disk-0', expected: { name: 'vm-101-disk-0', vmid: 101, format: 'raw', content: 'images', isBase: false, baseVolname: 'base-100-disk-0' } },
  { description: 'linked subvol clone', input: 'basevol-100-disk-0/subvol-101-disk-0', expected: { name: 'subvol-101-disk-0', vmid: 101, format: 'subvol', content: 'rootdir', isBase: false, baseVolname: 'basevol-100-disk-0' } },
  { description: 'state volume', input: 'vm-100-state-snap1', expected: { name: 'vm-100-state-snap1', vmid: 100, format: 'raw', content: 'images', isBase: false, baseVolname: undefined } },
] as const;

const BAD = [
  { description: 'dir image', input: '100/vm-100-disk-0.qcow2' },
  { description: 'no vmid', input: 'vm-disk-0' },
  { description: 'snapshot syntax', input: 'vm-100-disk-0@snap' },
  { description: 'base of the other kind', input: 'base-100-disk-0/subvol-101-disk-0' },
  { description: 'clone of a non-base', input: 'vm-100-disk-0/vm-101-disk-0' },
  { description: 'iso', input: 'iso/debian.iso' },
  { description: 'two levels', input: 'base-1-disk-0/base-2-disk-0/vm-3-disk-0' },
] as const;

for (const { description, input, expected } of GOOD) {
  test(`parseZfsVolname: ${description} (${input})`, (t) => {
    const p = parseZfsVolname(input);
    t.like(p, { volname: input, ...expected });
  });
}

for (const { description, input } of BAD) {
  test(`parseZfsVolname refuses ${description} (${input})`, (t) => {
    t.throws(() => parseZfsVolname(input), { code: ErrorCodes.invalidVolumeId });
  });
}

test('zfsBaseName and block sizes', (t) => {
  t.is(zfsBaseName('vm-100-disk-0'), 'base-100-disk-0');
  t.is(zfsBaseName('subvol-100-disk-0'), 'basevol-100-disk-0');
  t.is(parseZfsBlocksize('16k'), 16384);
  t.is(parseZfsBlocksize('1M'), 1024 * 1024);
  t.is(parseZfsBlocksize('512'), 512);
  for (const bad of ['3k', '256', '32m', '0', '08k']) t.throws(() => parseZfsBlocksize(bad), { code: ErrorCodes.invalidConfig }, bad);
});

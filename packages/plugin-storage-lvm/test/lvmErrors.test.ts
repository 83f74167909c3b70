/** Recorded lvm2 failures map to the coded errors callers branch on. */
import test from 'ava';
import { CommandFailedError, ErrorCodes } from '@corral/core';
import { lvmErrorLine, lvmFailure, mapLvmError, type LvmFailure } from '../src/index.js';
import { lvmFixture } from './support/lvmFixtures.js';

const ctx = { storage: 'tank', vg: 'corralfixture', pool: 'data', volid: 'tank:vm-999-disk-0' };
const failure = (file: string) => new CommandFailedError(['lvm'], 5, lvmFixture(file));

const CASES: Array<[string, LvmFailure, string]> = [
  ['vgs-missing.txt', 'no-vg', ErrorCodes.unavailable],
  ['lvs-missing-vg.txt', 'no-vg', ErrorCodes.unavailable],
  ['lvcreate-exists.txt', 'exists', ErrorCodes.alreadyExists],
  ['lvcreate-insufficient.txt', 'space', ErrorCodes.storageFull],
  ['lvextend-same-size.txt', 'same-size', ErrorCodes.commandFailed],
  ['lvextend-smaller.txt', 'smaller', ErrorCodes.conflict],
  ['lvremove-missing.txt', 'missing', ErrorCodes.notFound],
  ['lvrename-missing.txt', 'missing', ErrorCodes.notFound],
  ['lvcreate-thin-no-dm.txt', 'no-device-mapper', ErrorCodes.notSupported],
  ['lvcreate-thin-pool-missing.txt', 'no-pool', ErrorCodes.unavailable],
  ['lvcreate-thin-snapshot-no-dm.txt', 'no-device-mapper', ErrorCodes.notSupported],
  ['lvcreate-thin-clone-no-dm.txt', 'no-device-mapper', ErrorCodes.notSupported],
  ['lvremove-thin-no-dm.txt', 'no-device-mapper', ErrorCodes.notSupported],
];

for (const [file, kind, code] of CASES) {
  test(`${file}: ${kind} → ${code}`, (t) => {
    const err = failure(file);
    t.is(lvmFailure(err), kind);
    t.is((mapLvmError(err, ctx) as { code?: string }).code, code);
  });
}

test('the error line skips warnings and fd-leak notes', (t) => {
  t.is(lvmErrorLine(lvmFixture('lvcreate-exists.txt')), 'Logical Volume "vm-110-disk-0" already exists in volume group "corralfixture"');
  t.is(lvmFailure(new Error('x')), undefined);
});

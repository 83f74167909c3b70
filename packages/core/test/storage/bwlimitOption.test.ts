/**
 * `bwlimit` is checked by one rule in core for every storage type, Proxmox's property string
 * (pve-common's `bwlimit` format read by `parse_property_string`), also when a driver's own
 * schema declares the option with a looser or stricter pattern.
 */
import test from 'ava';
import { Type } from '@sinclair/typebox';
import { storageBandwidthLimit, type StorageDriverInfo } from '../../src/index.js';
import { storageOptionsProblem } from '../../src/storage/storageDefinitions.js';

/** A driver of Proxmox's `lvm` type that declares `bwlimit` as a free string. */
const LOOSE = {
  type: 'lvm',
  contentTypes: ['images'],
  optionsSchema: Type.Object({ vgname: Type.String(), bwlimit: Type.Optional(Type.String()) }),
} as unknown as StorageDriverInfo;

/** A third-party type (no Proxmox counterpart) whose driver declares `bwlimit`. */
const THIRD_PARTY = { ...LOOSE, type: 'acme-s3', optionsSchema: Type.Object({ bwlimit: Type.Optional(Type.String()) }) } as unknown as StorageDriverInfo;

const GOOD = ['clone=1024', 'default=512,restore=0', 'migration=12.5,move=.5', 'clone=1e3', 'default=5.', 'clone=+7', 'default=1,,move=3', ''];
const BAD: Array<[string, RegExp]> = [
  ['foo=1', /'foo=1' is not <default\|restore\|migration\|clone\|move>=<KiB\/s>/],
  ['clone=-1', /'-1' for clone is not a number of KiB\/s \(at least 0\)/],
  ['clone=fast', /'fast' for clone is not a number/],
  ['clone=1,clone=2', /duplicate key 'clone'/],
  ['1024', /'1024' is not/],
  [' clone=1', /' clone=1' is not/],
  ['clone=1;default=2', /'1;default=2' for clone is not a number/],
];

for (const [title, type, info, extra] of [
  ['no driver (Proxmox lvm)', 'lvm', undefined, { vgname: 'pve' }],
  ['a driver declaring a free string', 'lvm', LOOSE, { vgname: 'pve' }],
  ['a third-party type declaring it', 'acme-s3', THIRD_PARTY, {}],
] as const) {
  test(`bwlimit is Proxmox's property string with ${title}`, (t) => {
    for (const v of GOOD) t.is(storageOptionsProblem('s', type, { ...extra, bwlimit: v }, info), undefined, `'${v}' is accepted`);
    for (const [v, why] of BAD) {
      const problem = storageOptionsProblem('s', type, { ...extra, bwlimit: v }, info);
      t.is(problem?.key, 'bwlimit', v);
      t.regex(problem?.message ?? '', why, v);
    }
  });
}

test('the decoded limit reads the parts as the check does', (t) => {
  t.is(storageBandwidthLimit('clone=1,default=2', 'clone'), 1024);
  t.is(storageBandwidthLimit('default=1,,move=3', 'restore'), 1024);
  t.is(storageBandwidthLimit('clone=1e3', 'clone'), 1024 * 1000);
  t.is(storageBandwidthLimit('clone=0,default=4', 'clone'), undefined, '0 means no limit');
});

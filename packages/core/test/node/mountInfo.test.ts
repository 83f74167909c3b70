import test from 'ava';
import { isMountpoint, parseMountInfo, unescapeMountField } from '../../src/node/mountInfo.js';

test('parseMountInfo reads root, mount point, type and source, decoding octal escapes; optional fields before the dash are skipped', (t) => {
  const text = [
    '36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - btrfs /dev/loop0 rw,space_cache',
    '37 35 98:0 /@sub /mnt/sub rw - btrfs /dev/loop0 rw',
    'garbage',
    '',
  ].join('\n');
  t.deepEqual(parseMountInfo(text), [
    { root: '/', mountPoint: '/mnt/with space', fsType: 'btrfs', source: '/dev/loop0' },
    { root: '/@sub', mountPoint: '/mnt/sub', fsType: 'btrfs', source: '/dev/loop0' },
  ]);
  t.is(unescapeMountField('a\\011b\\134c'), 'a\tb\\c');
});

test('isMountpoint: /proc is one here, a directory inside it and a missing path are not', async (t) => {
  t.true(await isMountpoint('/proc'));
  t.false(await isMountpoint('/proc/self/fd'));
  t.false(await isMountpoint('/no/such/path'));
});

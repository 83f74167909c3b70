import test from 'ava';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@corral/core/testing';
import { padToGlusterSector } from '../src/index.js';

test('a file ending mid-sector is extended with zeros to the next 512 bytes; an aligned one is left alone', async (t) => {
  const dir = await makeTempDir(t, 'corral-gluster-pad-');
  const file = join(dir, 'vm-100-disk-0.qcow2');
  await writeFile(file, Buffer.alloc(16, 0xab));
  await truncate(file, 196624); // the size of a fresh 1 GiB qcow2 written by qemu-img's file driver
  t.true(await padToGlusterSector(file));
  t.is((await stat(file)).size, 197120);
  t.false(await padToGlusterSector(file));
  t.is((await stat(file)).size, 197120);
});

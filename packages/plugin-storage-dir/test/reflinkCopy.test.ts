/**
 * On a filesystem with reflinks (btrfs, loop-mounted here), a copy within a dir storage shares
 * every extent with its source: no data is written (`btrfs filesystem du` reports the copy's
 * bytes as shared, none exclusive), and the copy still holds the same bytes and is independent.
 * Real; needs root, btrfs-progs and /dev/loop-control.
 */
import test from 'ava';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT_CALLER } from '@corral/core';
import { createTestKernel, hasProgram, makeTempDir, requireReal, runTool, runToolOk, SeededRandom } from '@corral/core/testing';
import { storageDirPlugin } from '../src/index.js';

const MiB = 1024 * 1024;
const programs = ['mkfs.btrfs', 'btrfs', 'mount', 'umount', 'truncate', 'qemu-img'];

/** `btrfs filesystem du --raw`: [total, exclusive, set shared] bytes of one file. */
async function extentUse(path: string): Promise<[number, number, number]> {
  const out = await runToolOk(['btrfs', 'filesystem', 'du', '--raw', path]);
  const row = out.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/);
  return [Number(row[0]), Number(row[1]), Number(row[2])];
}

test('a raw copy on btrfs is a reflink: the copy shares all its extents and holds the same bytes', async (t) => {
  if (!requireReal(t, programs.every(hasProgram), `needs ${programs.join(', ')} (Debian btrfs-progs, qemu-utils)`)) return;
  const dir = await makeTempDir(t, 'corral-dir-btrfs-');
  const image = join(dir, 'btrfs.img');
  const mnt = join(dir, 'mnt');
  await runToolOk(['truncate', '-s', String(512 * MiB), image]);
  await runToolOk(['mkfs.btrfs', '-q', image]);
  await mkdir(mnt);
  const mounted = await runTool(['mount', '-o', 'loop', image, mnt]);
  if (!requireReal(t, mounted.exitCode === 0, `mount -o loop failed: ${mounted.stderr}`)) return;
  t.teardown(async () => {
    if ((await runTool(['umount', mnt])).exitCode !== 0) await runTool(['umount', '-l', mnt]);
  });

  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  await kernel.storage.add('local', 'dir', { path: mnt, content: 'images' }, { caller: ROOT_CALLER });
  const src = await kernel.storage.allocate({ storage: 'local', vmid: 100, sizeBytes: 32 * MiB, format: 'raw' });
  const srcPath = (await kernel.storage.resolve(src)) as { path: string };
  const fh = await open(srcPath.path, 'r+');
  await fh.write(new SeededRandom(11).bytes(32 * MiB), 0, 32 * MiB, 0);
  await fh.sync();
  await fh.close();
  await runToolOk(['btrfs', 'filesystem', 'sync', mnt]);

  const copy = await kernel.storage.copy(src, { targetStorage: 'local', vmid: 101 });
  const copyPath = ((await kernel.storage.resolve(copy)) as { path: string }).path;
  await runToolOk(['btrfs', 'filesystem', 'sync', mnt]);
  const [total, exclusive, shared] = await extentUse(copyPath);
  t.log(`copy of a 32 MiB raw volume: total ${total}, exclusive ${exclusive}, shared ${shared} bytes`);
  t.is(total, 32 * MiB, 'the copy has all 32 MiB');
  t.is(exclusive, 0, 'none of its extents is its own: nothing was written');
  t.true((await readFile(copyPath)).equals(await readFile(srcPath.path)), 'byte-identical');

  const w = await open(copyPath, 'r+');
  await w.write(Buffer.alloc(MiB, 0xee), 0, MiB, 0);
  await w.close();
  t.false((await readFile(srcPath.path)).subarray(0, MiB).equals(Buffer.alloc(MiB, 0xee)), 'writing the copy leaves the source alone');
  for (const v of [copy, src]) await kernel.storage.free(v);
});

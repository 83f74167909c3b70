#!/usr/bin/env node
// Benchmark: linked clone of a 1 TiB (virtual) raw btrfs template vs a 1 GiB one, through
// kernel.storage.cloneLinked on a real btrfs filesystem (an image file in a temp dir,
// mkfs.btrfs, mount -o loop: the test harness of @corral/plugin-storage-btrfs). Each template
// holds 64 MiB of data. A linked clone (a writable subvolume snapshot) must not depend on the
// image size. Median of 12 pairs (order alternated, each clone freed untimed before the next
// pair); baseline: the raw `btrfs subvolume snapshot` on the same templates.
// Prints JSON lines {metric, value, unit, baseline?, note} on stdout (details on stderr).
// Run after `npx tsc -b packages/plugin-storage-btrfs` (needs btrfs-progs, root, loop devices).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { measureLinkedCloneRatio, templateWithData } from './_linkedCloneRatio.mjs';

const root = new URL('../packages/', import.meta.url);
const core = await import(new URL('core/dist/src/index.js', root).href);
const { storageBtrfsPlugin } = await import(new URL('plugin-storage-btrfs/dist/src/index.js', root).href);
const { createBtrfsTestFilesystem } = await import(new URL('plugin-storage-btrfs/dist/test/support/BtrfsTestFilesystem.js', root).href);

const PAIRS = 12;
const GiB = 1024 ** 3;
const log = (m) => process.stderr.write(`btrfs-clone: ${m}\n`);

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-btrfs-'));
let fs;
let kernel;
try {
  fs = await createBtrfsTestFilesystem(2 * GiB);
  kernel = await core.createKernel({ node: 'bench', dataDir: join(dir, 'data'), runDir: join(dir, 'run'), plugins: [storageBtrfsPlugin] });
  const path = join(fs.mountPoint, 'store');
  await kernel.storage.add('bt', 'btrfs', { path, content: 'images' }, { caller: core.ROOT_CALLER });
  const template = (vmid, sizeBytes) => templateWithData(kernel, 'bt', vmid, sizeBytes);
  const big = await template(9001, 1024 * GiB);
  const small = await template(9002, GiB);
  log(`templates ${big} (1 TiB) and ${small} (1 GiB)`);

  const rawClone = (base) => {
    const disk = base.slice(base.indexOf('/') + 1).replace(/\.raw$/, '');
    const vmid = base.slice(base.indexOf(':') + 1, base.indexOf('/'));
    const src = join(path, 'images', vmid, disk);
    const dst = join(path, 'images', vmid, 'bench-raw-clone');
    const t0 = performance.now();
    const r = spawnSync('btrfs', ['-q', 'subvolume', 'snapshot', '--', src, dst], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`btrfs subvolume snapshot failed: ${r.stderr}`);
    spawnSync('btrfs', ['-q', 'subvolume', 'delete', '--', dst], { encoding: 'utf8' });
    return ms;
  };

  await measureLinkedCloneRatio({ kernel, prefix: 'btrfs', big, small, rawClone, pairs: PAIRS, log, what: 'raw template', rawWhat: 'raw btrfs subvolume snapshot' });
  await kernel.storage.free(big);
  await kernel.storage.free(small);
} finally {
  await kernel?.dispose();
  await fs?.destroy();
  rmSync(dir, { recursive: true, force: true });
}

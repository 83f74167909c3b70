#!/usr/bin/env node
// Benchmark: linked clone of a 1 TiB container template vs a 1 GiB one on a zfspool storage,
// through kernel.storage.cloneLinked on a real zfs-fuse pool (a sparse file in a temp dir: the
// test harness of @corral/plugin-storage-zfs). zfs-fuse has no zvols, so the templates are subvols
// (filesystem datasets) whose refquota is 1 TiB and 1 GiB, each holding 64 MiB of data; the
// storage is `sparse` (thin), else the facade refuses a 1 TiB quota on a 512 MiB pool. A linked
// clone (`zfs clone <base>@__base__ -o refquota=<size>`) must not depend on the quota. Median of
// 12 pairs (order alternated, each clone freed untimed before the next pair); baseline: the raw
// `zfs clone` of the same snapshot with the same refquota.
// Prints JSON lines {metric, value, unit, baseline?, note} on stdout (details on stderr).
// Run after `npx tsc -b packages/plugin-storage-zfs` (needs zfs-fuse, root).
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { measureLinkedCloneRatio } from './_linkedCloneRatio.mjs';

const root = new URL('../packages/', import.meta.url);
const core = await import(new URL('core/dist/src/index.js', root).href);
const { storageZfsPlugin } = await import(new URL('plugin-storage-zfs/dist/src/index.js', root).href);
const { createZfsTestPool } = await import(new URL('plugin-storage-zfs/dist/test/support/ZfsTestPool.js', root).href);

const PAIRS = 12;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const log = (m) => process.stderr.write(`zfs-clone: ${m}\n`);
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-zfs-'));
let pool;
let kernel;
try {
  pool = await createZfsTestPool({ dir, sizeBytes: 512 * MiB, namePrefix: 'corralbench' });
  kernel = await core.createKernel({ node: 'bench', dataDir: join(dir, 'data'), runDir: join(dir, 'run'), plugins: [storageZfsPlugin] });
  await kernel.storage.add('zp', 'zfspool', { pool: pool.pool, content: 'rootdir', sparse: '1' }, { caller: core.ROOT_CALLER });
  const template = async (vmid, sizeBytes) => {
    const volid = await kernel.storage.allocate({ storage: 'zp', vmid, sizeBytes, format: 'subvol', content: 'rootdir' });
    const access = await kernel.storage.resolve(volid, { consumer: 'host' });
    const fh = await open(join(access.path, 'data.bin'), 'w');
    for (let i = 0; i < 64; i++) await fh.write(Buffer.alloc(MiB, i + 1), 0, MiB, i * MiB);
    await fh.sync();
    await fh.close();
    return kernel.storage.createBase(volid);
  };
  const big = await template(9001, 1024 * GiB);
  const small = await template(9002, GiB);
  log(`templates ${big} (1 TiB) and ${small} (1 GiB) on pool ${pool.pool}`);

  // The driver's argv (ZfsCommands.clone), run by hand; the clone is destroyed untimed
  // (zfs-fuse calls a mounted filesystem busy: unmount and retry, as the driver does).
  const rawClone = (base) => {
    const name = base.slice(base.indexOf(':') + 1);
    const refquota = name === big.slice(big.indexOf(':') + 1) ? 1024 * GiB : GiB;
    const dst = `${pool.pool}/bench-raw-clone`;
    const t0 = performance.now();
    const r = spawnSync('zfs', ['clone', `${pool.pool}/${name}@__base__`, dst, '-o', `refquota=${refquota}`], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`zfs clone failed: ${r.stderr}`);
    for (let i = 0; ; i++) {
      const d = spawnSync('zfs', ['destroy', dst], { encoding: 'utf8' });
      if (d.status === 0) break;
      if (i >= 7) throw new Error(`zfs destroy ${dst} failed: ${d.stderr}`);
      spawnSync('zfs', ['unmount', dst]);
      sleepSync(250 * (i + 1));
    }
    return ms;
  };

  await measureLinkedCloneRatio({
    kernel,
    prefix: 'zfs',
    big,
    small,
    rawClone,
    pairs: PAIRS,
    log,
    what: 'subvol template (refquota; zfs-fuse, no zvols)',
    rawWhat: 'raw zfs clone <base>@__base__ -o refquota=<size>',
  });
  await kernel.storage.free(big);
  await kernel.storage.free(small);
} finally {
  await kernel?.dispose();
  await pool?.destroy();
  rmSync(dir, { recursive: true, force: true });
}

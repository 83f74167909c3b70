#!/usr/bin/env node
// Benchmark: linked clone of a 1 TiB (virtual) rbd template vs a 1 GiB one, through
// kernel.storage.cloneLinked on a real one-node Ceph cluster (the test harness of
// @corral/plugin-storage-ceph: memstore OSD on loopback). A linked clone must not depend on
// the image size. Median of 12 pairs (order alternated, each clone freed untimed before the
// next pair); baseline: the raw `rbd clone` CLI on the same templates.
// Prints JSON lines {metric, value, unit, baseline?, note} on stdout (details on stderr).
// Run after `npx tsc -b packages/plugin-storage-ceph` (needs the ceph-mon/mgr/osd packages).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../packages/', import.meta.url);
const core = await import(new URL('core/dist/src/index.js', root).href);
const { storageCephPlugin } = await import(new URL('plugin-storage-ceph/dist/src/index.js', root).href);
const { startCephTestCluster } = await import(new URL('plugin-storage-ceph/dist/test/support/CephTestCluster.js', root).href);

const PAIRS = 12;
const GiB = 1024 ** 3;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const log = (m) => process.stderr.write(`rbd-clone: ${m}\n`);

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-rbd-'));
let cluster;
let kernel;
try {
  cluster = await startCephTestCluster({ dir });
  log(`cluster ready in ${Math.round(cluster.readyMs)} ms (mon ${cluster.monHost})`);
  kernel = await core.createKernel({ node: 'bench', dataDir: join(dir, 'data'), runDir: join(dir, 'run'), plugins: [storageCephPlugin] });
  await kernel.storage.add('ceph', 'rbd', {
    pool: cluster.pool,
    monhost: cluster.monHost,
    username: cluster.clientId,
    keyring: readFileSync(cluster.keyringPath, 'utf8'),
  }, { caller: core.ROOT_CALLER });
  const big = await kernel.storage.createBase(await kernel.storage.allocate({ storage: 'ceph', vmid: 9001, sizeBytes: 1024 * GiB }));
  const small = await kernel.storage.createBase(await kernel.storage.allocate({ storage: 'ceph', vmid: 9002, sizeBytes: GiB }));
  log(`templates ${big} (1 TiB) and ${small} (1 GiB)`);

  const timeClone = async (base, vmid) => {
    const t0 = performance.now();
    const clone = await kernel.storage.cloneLinked(base, { vmid });
    const ms = performance.now() - t0;
    await kernel.storage.free(clone);
    return ms;
  };
  const rawClone = (base) => {
    const src = `${cluster.pool}/${base.slice(base.indexOf(':') + 1)}@__base__`;
    const dst = `${cluster.pool}/vm-9999-disk-0`;
    const t0 = performance.now();
    const r = spawnSync('rbd', [...cluster.clientArgs, 'clone', src, dst], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`rbd clone failed: ${r.stderr}`);
    spawnSync('rbd', [...cluster.clientArgs, 'rm', dst], { encoding: 'utf8' });
    return ms;
  };

  await timeClone(small, 9100); // warm-up
  const bigMs = [];
  const smallMs = [];
  const rawBig = [];
  const rawSmall = [];
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2 === 0) {
      bigMs.push(await timeClone(big, 9200 + i));
      smallMs.push(await timeClone(small, 9300 + i));
    } else {
      smallMs.push(await timeClone(small, 9300 + i));
      bigMs.push(await timeClone(big, 9200 + i));
    }
    rawBig.push(rawClone(big));
    rawSmall.push(rawClone(small));
  }
  log(`1 TiB: ${bigMs.map((x) => x.toFixed(0)).join(' ')} ms`);
  log(`1 GiB: ${smallMs.map((x) => x.toFixed(0)).join(' ')} ms`);
  const mBig = median(bigMs);
  const mSmall = median(smallMs);
  const out = (o) => console.log(JSON.stringify(o));
  out({ metric: 'rbd_linked_clone_1tib_ms', value: mBig, unit: 'ms', baseline: median(rawBig), note: `kernel.storage.cloneLinked of a 1 TiB template, median of ${PAIRS}; baseline: raw rbd clone` });
  out({ metric: 'rbd_linked_clone_1gib_ms', value: mSmall, unit: 'ms', baseline: median(rawSmall), note: `kernel.storage.cloneLinked of a 1 GiB template, median of ${PAIRS}; baseline: raw rbd clone` });
  out({ metric: 'rbd_linked_clone_1tib_vs_1gib_ratio', value: mBig / mSmall, unit: 'ratio', baseline: median(rawBig) / median(rawSmall), note: 'target <= 1.2: a linked clone does not depend on the image size' });
  await kernel.storage.free(big);
  await kernel.storage.free(small);
} finally {
  await kernel?.dispose();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}

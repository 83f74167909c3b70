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
import { measureLinkedCloneRatio } from './_linkedCloneRatio.mjs';

const root = new URL('../packages/', import.meta.url);
const core = await import(new URL('core/dist/src/index.js', root).href);
const { storageCephPlugin } = await import(new URL('plugin-storage-ceph/dist/src/index.js', root).href);
const { startCephTestCluster } = await import(new URL('plugin-storage-ceph/dist/test/support/CephTestCluster.js', root).href);

const PAIRS = 12;
const GiB = 1024 ** 3;
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

  await measureLinkedCloneRatio({ kernel, prefix: 'rbd', big, small, rawClone, pairs: PAIRS, log, what: 'template', rawWhat: 'raw rbd clone' });
  await kernel.storage.free(big);
  await kernel.storage.free(small);
} finally {
  await kernel?.dispose();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}

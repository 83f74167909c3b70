#!/usr/bin/env node
// Benchmark: linked clone of a 1 TiB (virtual) raw glusterfs template vs a 1 GiB one, through
// kernel.storage.cloneLinked on a glusterfs storage FUSE-mounted from a private glusterd (the
// test harness of @corral/plugin-storage-glusterfs: glusterd in its own network namespace on a
// 198.51.100.N address, one-brick volumes in a temp dir). Each template holds 64 MiB of data.
// A linked clone (a qcow2 overlay with the relative backing file `../<vmid>/base-...raw`,
// padded to 512 bytes) must not depend on the image size. Median of 12 pairs (order
// alternated, each clone freed untimed before the next pair); baseline: the raw
// `qemu-img create -b ../<vmid>/<base> -F raw -f qcow2` on the same mount.
// Prints JSON lines {metric, value, unit, baseline?, note} on stdout (details on stderr).
// Run as root after `npx tsc -b packages/plugin-storage-glusterfs` (needs glusterfs-server, glusterfs-client, qemu-img).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureLinkedCloneRatio, templateWithData, timeQemuImgOverlay } from './_linkedCloneRatio.mjs';

const root = new URL('../packages/', import.meta.url);
const core = await import(new URL('core/dist/src/index.js', root).href);
const { createStorageGlusterfsPlugin } = await import(new URL('plugin-storage-glusterfs/dist/src/index.js', root).href);
const { randomServerAddress, startGlusterServer } = await import(new URL('plugin-storage-glusterfs/dist/test/support/GlusterServer.js', root).href);

const PAIRS = 12;
const GiB = 1024 ** 3;
const log = (m) => process.stderr.write(`glusterfs-clone: ${m}\n`);

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-gluster-'));
let server;
let kernel;
try {
  server = await startGlusterServer(dir, randomServerAddress());
  kernel = await core.createKernel({ node: 'bench', dataDir: join(dir, 'data'), runDir: join(dir, 'run'), plugins: [createStorageGlusterfsPlugin()] });
  const path = join(dir, 'mnt');
  await kernel.storage.add('gl', 'glusterfs', { server: server.address, volume: server.volumes[0], path, content: 'images' }, { caller: core.ROOT_CALLER });
  const template = (vmid, sizeBytes) => templateWithData(kernel, 'gl', vmid, sizeBytes, { format: 'raw' });
  const big = await template(9001, 1024 * GiB);
  const small = await template(9002, GiB);
  log(`templates ${big} (1 TiB) and ${small} (1 GiB)`);

  const rawClone = (base) => timeQemuImgOverlay(path, base);

  await measureLinkedCloneRatio({ kernel, prefix: 'glusterfs', big, small, rawClone, pairs: PAIRS, log, what: 'raw template', rawWhat: 'qemu-img create -b' });
  await kernel.storage.free(big);
  await kernel.storage.free(small);
  await kernel.storage.deactivate('gl');
} finally {
  await kernel?.dispose();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}

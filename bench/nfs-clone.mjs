#!/usr/bin/env node
// Benchmark: linked clone of a 1 TiB (virtual) raw nfs template vs a 1 GiB one, through
// kernel.storage.cloneLinked on an nfs storage served by a private nfs-ganesha on 127.0.0.1
// (the test harness of @corral/plugin-storage-nfs: this kernel has no NFS client, so the
// storage's path is the exported directory, standing in for the mount point). Each template
// holds 64 MiB of data. A linked clone (a qcow2 overlay with the relative backing file
// `../<vmid>/base-...raw`) must not depend on the image size. Median of 12 pairs (order
// alternated, each clone freed untimed before the next pair); baseline: the raw
// `qemu-img create -b ../<vmid>/<base> -F raw -f qcow2` on the same templates.
// Prints JSON lines {metric, value, unit, baseline?, note} on stdout (details on stderr).
// Run after `npx tsc -b packages/plugin-storage-nfs` (needs nfs-ganesha, rpcbind, qemu-img).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureLinkedCloneRatio, templateWithData, timeQemuImgOverlay } from './_linkedCloneRatio.mjs';

const root = new URL('../packages/', import.meta.url);
const core = await import(new URL('core/dist/src/index.js', root).href);
const { createStorageNfsPlugin } = await import(new URL('plugin-storage-nfs/dist/src/index.js', root).href);
const { startGaneshaServer } = await import(new URL('plugin-storage-nfs/dist/test/support/GaneshaServer.js', root).href);
const { nfsStandInMounter } = await import(new URL('plugin-storage-nfs/dist/test/support/nfsStandIn.js', root).href);

const PAIRS = 12;
const GiB = 1024 ** 3;
const log = (m) => process.stderr.write(`nfs-clone: ${m}\n`);

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-nfs-'));
let server;
let kernel;
try {
  server = await startGaneshaServer(join(dir, 'server'));
  kernel = await core.createKernel({ node: 'bench', dataDir: join(dir, 'data'), runDir: join(dir, 'run'), plugins: [createStorageNfsPlugin({ mounter: nfsStandInMounter() })] });
  const path = server.exportDir;
  await kernel.storage.add('nas', 'nfs', { server: server.server, export: path, path, content: 'images' }, { caller: core.ROOT_CALLER });
  const template = (vmid, sizeBytes) => templateWithData(kernel, 'nas', vmid, sizeBytes, { format: 'raw' });
  const big = await template(9001, 1024 * GiB);
  const small = await template(9002, GiB);
  log(`templates ${big} (1 TiB) and ${small} (1 GiB)`);

  const rawClone = (base) => timeQemuImgOverlay(path, base);

  await measureLinkedCloneRatio({ kernel, prefix: 'nfs', big, small, rawClone, pairs: PAIRS, log, what: 'raw template', rawWhat: 'qemu-img create -b' });
  await kernel.storage.free(big);
  await kernel.storage.free(small);
} finally {
  await kernel?.dispose();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}

// Shared by the *-clone benchmarks (run.mjs skips files starting with '_'): a linked clone of
// a 1 TiB template against a 1 GiB one through kernel.storage.cloneLinked, in pairs whose order
// alternates, each beside the raw tool's clone of the same template. Prints the three JSON
// result lines, with the absolute overhead over the raw tool (ms) and the load average.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';

/** Median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Times `kernel.storage.cloneLinked(base)` and frees the clone untimed; ms. */
export async function timeLinkedClone(kernel, base, vmid) {
  const t0 = performance.now();
  const clone = await kernel.storage.cloneLinked(base, { vmid });
  const ms = performance.now() - t0;
  await kernel.storage.free(clone);
  return ms;
}

/**
 * Runs `pairs` pairs (after one warm-up clone of `small`) and prints the results:
 * `<prefix>_linked_clone_1tib_ms`, `..._1gib_ms` and `..._1tib_vs_1gib_ratio`.
 * `rawClone(base)` times the raw tool's clone (ms); `what` and `rawWhat` name both in the notes.
 */
export async function measureLinkedCloneRatio({ kernel, prefix, big, small, rawClone, pairs, log, what, rawWhat }) {
  await timeLinkedClone(kernel, small, 9100); // warm-up
  const bigMs = [];
  const smallMs = [];
  const rawBig = [];
  const rawSmall = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      bigMs.push(await timeLinkedClone(kernel, big, 9200 + i));
      smallMs.push(await timeLinkedClone(kernel, small, 9300 + i));
    } else {
      smallMs.push(await timeLinkedClone(kernel, small, 9300 + i));
      bigMs.push(await timeLinkedClone(kernel, big, 9200 + i));
    }
    rawBig.push(rawClone(big));
    rawSmall.push(rawClone(small));
  }
  log(`1 TiB: ${bigMs.map((x) => x.toFixed(0)).join(' ')} ms`);
  log(`1 GiB: ${smallMs.map((x) => x.toFixed(0)).join(' ')} ms`);
  const mBig = median(bigMs);
  const mSmall = median(smallMs);
  const load = loadavg().map((x) => Number(x.toFixed(2)));
  const out = (o) => console.log(JSON.stringify({ ...o, loadavg: load }));
  out({ metric: `${prefix}_linked_clone_1tib_ms`, value: mBig, unit: 'ms', baseline: median(rawBig), overheadMs: mBig - median(rawBig), note: `kernel.storage.cloneLinked of a 1 TiB ${what}, median of ${pairs}; baseline: ${rawWhat}` });
  out({ metric: `${prefix}_linked_clone_1gib_ms`, value: mSmall, unit: 'ms', baseline: median(rawSmall), overheadMs: mSmall - median(rawSmall), note: `kernel.storage.cloneLinked of a 1 GiB ${what}, median of ${pairs}; baseline: ${rawWhat}` });
  out({ metric: `${prefix}_linked_clone_1tib_vs_1gib_ratio`, value: mBig / mSmall, unit: 'ratio', baseline: median(rawBig) / median(rawSmall), overheadMs: mBig - mSmall, note: 'target <= 1.2: a linked clone does not depend on the image size' });
}

const MiB = 1024 ** 2;

/**
 * The template the clone benchmarks clone: a new image of `sizeBytes` for `vmid` on `storage`
 * (`allocateOptions` added to the allocation, e.g. `{ format: 'raw' }`), 64 MiB of data written
 * at its start through the host path, then turned into a base. Returns the base's volid.
 */
export async function templateWithData(kernel, storage, vmid, sizeBytes, allocateOptions = {}) {
  const volid = await kernel.storage.allocate({ storage, vmid, sizeBytes, ...allocateOptions });
  const access = await kernel.storage.resolve(volid, { consumer: 'host' });
  const fh = await open(access.path, 'r+');
  for (let i = 0; i < 64; i++) await fh.write(Buffer.alloc(MiB, i + 1), 0, MiB, i * MiB);
  await fh.sync();
  await fh.close();
  return kernel.storage.createBase(volid);
}

/**
 * The raw tool's linked clone on a file storage rooted at `path`: times `qemu-img create -b
 * ../<volname> -F raw -f qcow2` of a raw `base` into `images/9999/` (removed afterwards); ms.
 */
export function timeQemuImgOverlay(path, base) {
  const volname = base.slice(base.indexOf(':') + 1);
  const dir = join(path, 'images', '9999');
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync('qemu-img', ['create', '-q', '-b', `../${volname}`, '-F', 'raw', '-f', 'qcow2', join(dir, 'bench-raw-clone.qcow2')], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`qemu-img create failed: ${r.stderr}`);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

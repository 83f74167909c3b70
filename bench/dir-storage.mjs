// Benchmarks of the dir storage driver (plain JS on the built dist output):
//   node bench/dir-storage.mjs            (after `npx tsc -b packages/plugin-storage-dir`)
// Prints one JSON line per figure: {metric, value, unit, baseline?, note?}.
//   (a) linked clone of a 1 TiB (virtual) qcow2 base vs a 1 GiB one: median of N interleaved
//       pairs and the ratio (a linked clone must not depend on the base's size); baseline:
//       the raw `qemu-img create -b` for the 1 TiB base, timed the same way.
//   (b) listing 1,000 volumes on one dir storage (500 qcow2 + 500 raw over 100 guests), warm
//       median; baseline: one `qemu-img info` per volume, which is how pve-storage's
//       list_images sizes images (timed sequentially on 100 volumes, scaled to 1,000).
import { copyFile, mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKernel, NodeCommandRunner, ROOT_CALLER } from '@corral/core';
import { storageDirPlugin } from '@corral/plugin-storage-dir';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 12);
const LIST_RUNS = Number(process.env.BENCH_LIST_RUNS ?? 15);
const VOLUMES = 1000;
const BASELINE_SAMPLE = 100;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const emit = (o) => console.log(JSON.stringify(o));
const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

const root = await mkdtemp(join(tmpdir(), 'corral-bench-dir-'));
const runner = new NodeCommandRunner();
const kernel = await createKernel({ node: 'bench', dataDir: join(root, 'data'), runDir: join(root, 'run'), plugins: [storageDirPlugin] });
try {
  const path = join(root, 'store');
  await kernel.storage.add('bench', 'dir', { path, content: 'images' }, { caller: ROOT_CALLER });
  const s = kernel.storage;

  // (a) linked clones
  const big = await s.createBase(await s.allocate({ storage: 'bench', vmid: 100, sizeBytes: 2 ** 40, format: 'qcow2' }));
  const small = await s.createBase(await s.allocate({ storage: 'bench', vmid: 101, sizeBytes: 2 ** 30, format: 'qcow2' }));
  const tBig = [];
  const tSmall = [];
  const tRaw = [];
  const cloneOnce = async (base, into) => {
    let volid;
    const ms = await time(async () => {
      volid = await s.cloneLinked(base, { vmid: 200 });
    });
    into.push(ms);
    await s.free(volid);
  };
  await cloneOnce(big, []); // warm-up
  await cloneOnce(small, []);
  const rawDir = join(path, 'images', '300');
  await mkdir(rawDir, { recursive: true });
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2) {
      await cloneOnce(big, tBig);
      await cloneOnce(small, tSmall);
    } else {
      await cloneOnce(small, tSmall);
      await cloneOnce(big, tBig);
    }
    const target = join(rawDir, `raw-${i}.qcow2`);
    tRaw.push(await time(() => runner.run(['qemu-img', 'create', '-f', 'qcow2', '-b', '../100/base-100-disk-0.qcow2', '-F', 'qcow2', target], { cwd: rawDir })));
    await rm(target);
  }
  await rm(rawDir, { recursive: true });
  emit({ metric: 'dir_linked_clone_1tib_ms', value: round(median(tBig)), unit: 'ms', baseline: round(median(tRaw)), note: `median of ${PAIRS}; baseline: qemu-img create -b on the same 1 TiB base` });
  emit({ metric: 'dir_linked_clone_1gib_ms', value: round(median(tSmall)), unit: 'ms', note: `median of ${PAIRS}` });
  emit({ metric: 'linked_clone_size_ratio', value: round(median(tBig) / median(tSmall), 3), unit: 'ratio', note: '1.0 means the clone time does not depend on the base size' });
  await s.free(big);
  await s.free(small);

  // (b) listing 1,000 volumes
  const template = join(root, 'template.qcow2');
  await runner.run(['qemu-img', 'create', '-f', 'qcow2', template, String(2 ** 30)]);
  const files = [];
  for (let i = 0; i < VOLUMES; i++) {
    const vmid = 1000 + (i % 100);
    const dir = join(path, 'images', String(vmid));
    await mkdir(dir, { recursive: true });
    const n = Math.floor(i / 100);
    const file = join(dir, i % 2 ? `vm-${vmid}-disk-${n}.raw` : `vm-${vmid}-disk-${n}.qcow2`);
    if (i % 2) {
      await writeFile(file, '');
      await truncate(file, 2 ** 30);
    } else {
      await copyFile(template, file);
    }
    files.push(file);
  }
  const first = await s.listVolumes('bench');
  if (first.length !== VOLUMES) throw new Error(`expected ${VOLUMES} volumes, listed ${first.length}`);
  const runs = [];
  for (let i = 0; i < LIST_RUNS; i++) runs.push(await time(() => s.listVolumes('bench')));
  const sample = files.filter((_, i) => i % (VOLUMES / BASELINE_SAMPLE) === 0 || i % (VOLUMES / BASELINE_SAMPLE) === 1).slice(0, BASELINE_SAMPLE);
  const base = await time(async () => {
    for (const f of sample) await runner.run(['qemu-img', 'info', '--output=json', '-f', f.endsWith('.raw') ? 'raw' : 'qcow2', f]);
  });
  emit({
    metric: 'list_1000_volumes_dir_ms',
    value: round(median(runs)),
    unit: 'ms',
    baseline: round((base * VOLUMES) / sample.length),
    note: `warm median of ${LIST_RUNS}; baseline: one qemu-img info per volume as pve list_images does, timed on ${sample.length} volumes (half qcow2) and scaled to ${VOLUMES}`,
  });
  emit({ metric: 'dir_list_per_volume_us', value: round((median(runs) * 1000) / VOLUMES), unit: 'us' });
} finally {
  await kernel.dispose();
  await rm(root, { recursive: true, force: true });
}

#!/usr/bin/env node
// Container start through the SDK vs LXC by hand.
//
// SDK: `kernel.guests.start(vmid)` until it resolves (the container is RUNNING): a task, the
// guest lock, the status check, volume resolution, the rootfs files, the generated LXC config,
// `lxc-start -d` and recording the init pid.
// By hand: `lxc-start -d` + `lxc-wait -s RUNNING` on a copy of the same generated config.
// Both on the same busybox rootfs (dir storage), alternating, N pairs (default 15, at least 10).
// Prints one JSON line: medians in ms and the ratio SDK / by hand (target <= 1.15).
//
// Usage (as root, after `npx tsc -b packages/plugin-lxc`):
//   node packages/plugin-lxc/bench/lxc-start.mjs [pairs]
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKernel, silentLogger, ROOT_CALLER } from '@corral/core';
import { storageDirPlugin } from '@corral/plugin-storage-dir';
import { lxcPlugin } from '@corral/plugin-lxc';

const execFile = promisify(execFileCb);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const pairs = Math.max(10, Number(process.argv[2] ?? 15));

const template = join(process.env.CORRAL_CACHE_DIR ?? join(repo, '.cache'), 'lxc', 'busybox.tar.gz');
if (!existsSync(template)) execFileSync('bash', [join(here, '..', 'scripts', 'build-busybox-template.sh')], { stdio: 'inherit' });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const dir = await mkdtemp(join(tmpdir(), 'corral-bench-lxc-'));
await chmod(dir, 0o711);
const kernel = await createKernel({ node: 'bench', dataDir: join(dir, 'data'), runDir: join(dir, 'run'), logger: silentLogger, plugins: [storageDirPlugin, lxcPlugin] });
const vmid = 900000 + Math.floor(Math.random() * 90000);
const lxcPath = join(dir, 'run', 'lxc');
const handPath = join(dir, 'byhand');
const handName = `bench${vmid}`;
try {
  await kernel.storage.add('local', 'dir', { path: join(dir, 'store'), content: 'rootdir,vztmpl' }, { caller: ROOT_CALLER });
  await kernel.storage.upload({ storage: 'local', content: 'vztmpl', filename: 'busybox.tar.gz', stream: createReadStream(template) });
  await kernel.guests.create('lxc', { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:1', hostname: 'bench', memory: 128 }, { caller: ROOT_CALLER, vmid });

  // The by-hand container: a copy of the config the SDK generates, under its own lxcpath and name.
  await kernel.guests.start(vmid);
  const generated = await readFile(join(lxcPath, String(vmid), 'config'), 'utf8');
  await kernel.guests.stop(vmid);
  await mkdir(join(handPath, handName), { recursive: true });
  await writeFile(join(handPath, handName, 'config'), generated.replaceAll(join(lxcPath, String(vmid)), join(handPath, handName)));

  const sdk = [];
  const hand = [];
  for (let i = 0; i < pairs + 1; i++) {
    let t0 = performance.now();
    await kernel.guests.start(vmid);
    const sdkMs = performance.now() - t0;
    await kernel.guests.stop(vmid);

    t0 = performance.now();
    await execFile('lxc-start', ['-P', handPath, '-n', handName, '-d']);
    await execFile('lxc-wait', ['-P', handPath, '-n', handName, '-s', 'RUNNING', '-t', '10']);
    const handMs = performance.now() - t0;
    await execFile('lxc-stop', ['-P', handPath, '-n', handName, '-k']);

    if (i === 0) continue; // warm-up pair
    sdk.push(sdkMs);
    hand.push(handMs);
  }
  console.log(JSON.stringify({ metric: 'ct_start_sdk_ms', value: median(sdk), unit: 'ms', baseline: median(hand), note: `median of ${pairs} pairs; baseline: lxc-start -d + lxc-wait by hand` }));
  console.log(JSON.stringify({ metric: 'ct_start_overhead_ratio', value: median(sdk) / median(hand), unit: 'ratio', note: 'SDK start until RUNNING / lxc-start -d + lxc-wait (target <= 1.15)' }));
} finally {
  await execFile('lxc-stop', ['-P', handPath, '-n', handName, '-k']).catch(() => undefined);
  await kernel.guests.stop(vmid).catch(() => undefined);
  await kernel.guests.destroy(vmid).catch(() => undefined);
  await kernel.dispose();
  await rm(dir, { recursive: true, force: true });
}

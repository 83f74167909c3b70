// kernel_boot_ms: createKernel with 10 small plugins (each provides a service and an extension),
// median of 30 runs in one process after a warm-up; and kernel_rss_mb after loading them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKernel, createServiceRef, definePlugin, extensionPoints, PLUGIN_API_VERSION } from '../packages/core/dist/src/index.js';

const plugins = Array.from({ length: 10 }, (_, i) =>
  definePlugin({
    id: `bench-plugin-${i}`,
    apiVersion: PLUGIN_API_VERSION,
    requires: i > 0 ? [`bench-plugin-${i - 1}`] : [],
    register(env) {
      env.provide(createServiceRef({ id: `bench-plugin-${i}.svc` }), { factory: () => ({ i }) });
      env.extend(extensionPoints.networkZones, `bench-zone-${i}`, { type: `bench-zone-${i}` });
    },
  }),
);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'corral-bench-'));
const times = [];
try {
  for (let i = 0; i < 31; i++) {
    const t0 = performance.now();
    const kernel = await createKernel({ node: 'bench', dataDir: join(dir, `d${i}`), runDir: join(dir, `r${i}`), plugins });
    const dt = performance.now() - t0;
    if (kernel.plugins.loaded.length !== 10) throw new Error(`only ${kernel.plugins.loaded.length} plugins loaded`);
    if (i > 0) times.push(dt);
    await kernel.dispose();
  }
  console.log(JSON.stringify({ metric: 'kernel_boot_10_plugins_ms', value: median(times), unit: 'ms', note: 'createKernel with 10 fixture plugins, median of 30 (target < 300 ms)' }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Cold: a fresh node process importing @corral/core and creating the kernel (median of 5).
import { spawnSync } from 'node:child_process';
const coreUrl = new URL('../packages/core/dist/src/index.js', import.meta.url).href;
const coldScript = `
const t0 = performance.now();
const core = await import(${JSON.stringify(coreUrl)});
const { mkdtempSync, rmSync } = await import('node:fs');
const dir = mkdtempSync('/tmp/corral-cold-');
const plugins = Array.from({ length: 10 }, (_, i) => core.definePlugin({ id: 'p' + i, apiVersion: core.PLUGIN_API_VERSION, register(env) { env.provide(core.createServiceRef({ id: 'p' + i + '.s' }), { value: i }); } }));
const k = await core.createKernel({ node: 'bench', dataDir: dir + '/d', runDir: dir + '/r', plugins });
const dt = performance.now() - t0;
await k.dispose(); rmSync(dir, { recursive: true, force: true });
console.log(dt);`;
const cold = [];
for (let i = 0; i < 5; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', coldScript], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  cold.push(Number(r.stdout.trim()));
}
console.log(JSON.stringify({ metric: 'kernel_boot_cold_ms', value: median(cold), unit: 'ms', note: 'fresh process: import @corral/core + createKernel with 10 plugins, median of 5' }));

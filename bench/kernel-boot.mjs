// kernel_boot_ms / kernel_rss_mb: createKernel with every Corral plugin loaded (dir, zfspool, rbd,
// qemu, lxc), in a fresh process (imports included) and warm; plus the 10-fixture-plugin figure
// of the foundation issue (target < 300 ms).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKernel, createServiceRef, definePlugin, extensionPoints, PLUGIN_API_VERSION } from '@corral/core';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = (o) => console.log(JSON.stringify(o));

// Warm: 10 small fixture plugins (each provides a service and an extension), 30 runs after a warm-up.
const fixtures = Array.from({ length: 10 }, (_, i) =>
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
const dir = mkdtempSync(join(tmpdir(), 'corral-bench-'));
try {
  const warm = [];
  for (let i = 0; i < 31; i++) {
    const t0 = performance.now();
    const kernel = await createKernel({ node: 'bench', dataDir: join(dir, `d${i}`), runDir: join(dir, `r${i}`), plugins: fixtures });
    if (i > 0) warm.push(performance.now() - t0);
    if (kernel.plugins.loaded.length !== 10) throw new Error(`only ${kernel.plugins.loaded.length} plugins loaded`);
    await kernel.dispose();
  }
  out({ metric: 'kernel_boot_10_plugins_ms', value: median(warm), unit: 'ms', note: 'createKernel with 10 fixture plugins, modules already imported, median of 30 (target < 300 ms)' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Cold: a fresh node process imports core and every plugin and creates the kernel.
const coldScript = `
const t0 = performance.now();
const [core, dir, zfs, ceph, kvm, lxc] = await Promise.all(['@corral/core', '@corral/plugin-storage-dir', '@corral/plugin-storage-zfs', '@corral/plugin-storage-ceph', '@corral/plugin-kvm', '@corral/plugin-lxc'].map((m) => import(m)));
const { mkdtempSync, rmSync } = await import('node:fs');
const d = mkdtempSync('/tmp/corral-cold-');
const k = await core.createKernel({ node: 'bench', dataDir: d + '/d', runDir: d + '/r',
  plugins: [dir.storageDirPlugin, zfs.storageZfsPlugin, ceph.storageCephPlugin, kvm.kvmPlugin, lxc.lxcPlugin] });
const ms = performance.now() - t0;
if (k.plugins.loaded.length !== 5) throw new Error('not every plugin loaded: ' + JSON.stringify(k.plugins.failed));
const rss = process.memoryUsage().rss / 2 ** 20;
await k.dispose(); rmSync(d, { recursive: true, force: true });
console.log(JSON.stringify({ ms, rss }));`;
const cold = [];
for (let i = 0; i < 7; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', coldScript], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname });
  if (r.status !== 0) throw new Error(r.stderr);
  cold.push(JSON.parse(r.stdout.trim()));
}
out({ metric: 'kernel_boot_ms', value: median(cold.map((c) => c.ms)), unit: 'ms', note: 'fresh process: import core + all 5 plugins + createKernel, median of 7' });
out({ metric: 'kernel_rss_mb', value: median(cold.map((c) => c.rss)), unit: 'MiB', note: 'RSS of that process with every plugin loaded, no guest' });

// vm_start: `kernel.guests.start()` until QMP says running, against spawning the same argv by
// hand (execFile of `qm showcmd`'s argv, which daemonizes with -S, then a raw QMP `cont` and
// `query-status`), alternating, median of 12 pairs; ratio target <= 1.15.
// kernel RSS: the kernel process's RSS with 0, 3 booted test guests, and 10 tiny paused guests.
//
// Needs root, qemu-system-x86_64 and the test guest (packages/plugin-kvm/scripts/build-test-guest.sh).
// Under TCG (no /dev/kvm) more than 3 booting guests make timings unreliable (HOST-FACTS), so the
// 10-guest figure uses 64 MiB guests that stay paused (freeze: 1 = -S): QEMU is up, QMP answers,
// the guest CPU never runs, which is what the SDK's footprint depends on.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKernel, ROOT_CALLER } from '../packages/core/dist/src/index.js';
import { storageDirPlugin } from '../packages/plugin-storage-dir/dist/src/index.js';
import { createKvmPlugin } from '../packages/plugin-kvm/dist/src/index.js';

const PAIRS = 12;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const out = (r) => console.log(JSON.stringify(r));

const guestDir = execFileSync('bash', [new URL('../packages/plugin-kvm/scripts/build-test-guest.sh', import.meta.url).pathname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').at(-1);
const kernelImage = `${guestDir}/vmlinuz`;
const initrd = `${guestDir}/initrd.img`;

const dir = mkdtempSync(join(tmpdir(), 'corral-bench-vm-'));
const cgroupParent = `corral-bench-${process.pid}`;
const kernel = await createKernel({
  node: 'bench',
  dataDir: join(dir, 'data'),
  runDir: join(dir, 'run'),
  plugins: [storageDirPlugin, createKvmPlugin({ resourceControl: { mode: 'auto', cgroupV1: { parent: cgroupParent } } })],
});
await kernel.storage.add('local', 'dir', { path: join(dir, 'store'), content: 'images' }, { caller: ROOT_CALLER });

/** Minimal QMP: connect, greeting, capabilities, then commands in order. */
function rawQmp(path) {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    let buf = '';
    const waiting = [];
    s.setEncoding('utf8');
    s.on('error', reject);
    s.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.QMP) {
          s.write('{"execute":"qmp_capabilities"}\n');
          waiting.push(() => resolve({ cmd, close: () => s.destroy() }));
        } else if ('return' in msg || 'error' in msg) {
          waiting.shift()?.(msg);
        }
      }
    });
    function cmd(execute) {
      return new Promise((res) => {
        waiting.push(res);
        s.write(`${JSON.stringify({ execute })}\n`);
      });
    }
  });
}

async function connectRetry(path) {
  for (let i = 0; ; i++) {
    try {
      return await rawQmp(path);
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const guest = (extra = {}) => ({
  memory: 256,
  agent: 1,
  serial0: 'socket',
  tablet: 0,
  scsihw: 'virtio-scsi-pci',
  scsi0: 'local:1,format=qcow2',
  args: `-kernel ${kernelImage} -initrd ${initrd} -append "console=ttyS0 quiet"`,
  ...extra,
});

try {
  // ---------------------------------------------------------------- start latency
  const vmid = 100;
  await kernel.guests.create('qemu', guest(), { caller: ROOT_CALLER, vmid });
  const argv = [...(await kernel.guests.showCommand(vmid))];
  const runDir = join(dir, 'run', 'qemu', String(vmid));
  const qmpPath = join(runDir, 'qmp.sock');
  const pidFile = join(runDir, 'qemu.pid');
  const sdk = [];
  const raw = [];
  for (let i = 0; i < PAIRS + 1; i++) {
    // SDK: task, lock, config, status check, volume resolve, spawn, cgroup placement, QMP cont + query-status
    let t0 = performance.now();
    await kernel.guests.start(vmid);
    const tSdk = performance.now() - t0;
    await kernel.guests.stop(vmid);
    // by hand: the same argv, then QMP cont until running
    t0 = performance.now();
    await promisify(execFile)(argv[0], argv.slice(1));
    const q = await connectRetry(qmpPath);
    await q.cmd('cont');
    const st = await q.cmd('query-status');
    const tRaw = performance.now() - t0;
    if (!st.return?.running) throw new Error(`raw start not running: ${JSON.stringify(st)}`);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    await q.cmd('quit');
    q.close();
    for (let w = 0; w < 200; w++) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (/\) [ZX] /.test(stat)) break;
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const f of readdirSync(runDir)) rmSync(join(runDir, f), { force: true });
    if (i > 0) {
      sdk.push(tSdk);
      raw.push(tRaw);
    }
  }
  const ratio = median(sdk) / median(raw);
  out({ metric: 'vm_start_sdk_ms', value: median(sdk), unit: 'ms', baseline: median(raw), note: `kernel.guests.start until QMP running vs same argv by hand (+ cont), median of ${PAIRS} alternating pairs, TCG` });
  out({ metric: 'vm_start_overhead_ratio', value: ratio, unit: 'x', note: 'target <= 1.15' });
  out({ metric: 'vm_start_pair_ratio_median', value: median(sdk.map((s, i) => s / raw[i])), unit: 'x', note: 'median of per-pair ratios' });
  await kernel.guests.destroy(vmid);

  // ---------------------------------------------------------------- kernel RSS with guests
  const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
  globalThis.gc?.();
  const rss0 = rssMiB();
  out({ metric: 'kernel_rss_0_guests_mib', value: rss0, unit: 'MiB', note: 'kernel process after the start benchmark, no guest running' });

  const booted = [201, 202, 203];
  for (const id of booted) {
    await kernel.guests.create('qemu', guest(), { caller: ROOT_CALLER, vmid: id });
    await kernel.guests.start(id);
  }
  await new Promise((r) => setTimeout(r, 8000)); // let them boot
  const statuses = await kernel.guests.list();
  const qemuRss3 = statuses.length ? (await Promise.all(booted.map((id) => kernel.guests.status(id)))).reduce((a, s) => a + (s.memoryBytes ?? 0), 0) / 2 ** 20 : 0;
  out({ metric: 'kernel_rss_3_booted_guests_mib', value: rssMiB(), unit: 'MiB', note: `3 booted 256 MiB TCG guests; their QEMU RSS together ${qemuRss3.toFixed(0)} MiB` });
  let t0 = performance.now();
  for (let i = 0; i < 10; i++) await kernel.guests.list();
  out({ metric: 'guests_list_3_running_ms', value: (performance.now() - t0) / 10, unit: 'ms', note: 'kernel.guests.list() with 3 running VMs (status via pid file + QMP each)' });
  for (const id of booted) {
    await kernel.guests.stop(id);
    await kernel.guests.destroy(id);
  }

  const tiny = Array.from({ length: 10 }, (_, i) => 300 + i);
  for (const id of tiny) {
    await kernel.guests.create('qemu', { memory: 64, vga: 'none', tablet: 0, balloon: 0, freeze: 1 }, { caller: ROOT_CALLER, vmid: id });
    await kernel.guests.start(id);
  }
  const tinyStatus = await Promise.all(tiny.map((id) => kernel.guests.status(id)));
  if (tinyStatus.some((s) => s.state !== 'paused')) throw new Error('a tiny guest is not paused');
  const qemuRss10 = tinyStatus.reduce((a, s) => a + (s.memoryBytes ?? 0), 0) / 2 ** 20;
  out({ metric: 'kernel_rss_10_paused_guests_mib', value: rssMiB(), unit: 'MiB', note: `10 paused 64 MiB guests (freeze: 1, -S); their QEMU RSS together ${qemuRss10.toFixed(0)} MiB` });
  t0 = performance.now();
  for (let i = 0; i < 10; i++) await kernel.guests.list();
  out({ metric: 'guests_list_10_running_ms', value: (performance.now() - t0) / 10, unit: 'ms', note: 'kernel.guests.list() with 10 QEMU processes' });

  // list_1000_guests_ms: 990 stopped VM configs written as Proxmox would, plus the 10 running.
  const store = kernel.config;
  const stopped = Array.from({ length: 990 }, (_, i) => 1000 + i);
  await Promise.all(
    stopped.map((id) =>
      store.write(
        `nodes/bench/qemu-server/${id}.conf`,
        `#bench guest ${id}\nboot: order=scsi0;net0\ncores: 2\nmemory: 2048\nname: vm${id}\nnet0: virtio=BC:24:11:00:${(id >> 8).toString(16).padStart(2, '0')}:${(id & 255).toString(16).padStart(2, '0')},bridge=vmbr0,firewall=1\nostype: l26\nscsi0: local:${id}/vm-${id}-disk-0.qcow2,iothread=1,size=32G\nscsihw: virtio-scsi-single\nsmbios1: uuid=00000000-0000-4000-8000-${String(id).padStart(12, '0')}\nsockets: 1\n`,
      ),
    ),
  );
  await kernel.guests.list(); // warm
  const listRuns = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const all = await kernel.guests.list();
    listRuns.push(performance.now() - t);
    if (all.length !== 1000 || all.filter((g) => g.status !== 'stopped').length !== 10) throw new Error(`unexpected listing: ${all.length} guests`);
  }
  out({ metric: 'list_1000_guests_ms', value: median(listRuns), unit: 'ms', note: 'kernel.guests.list() with 1,000 VM configs, 10 of them running (QEMU paused), warm median of 15' });
  await Promise.all(stopped.map((id) => store.delete(`nodes/bench/qemu-server/${id}.conf`)));

  for (const id of tiny) {
    await kernel.guests.stop(id);
    await kernel.guests.destroy(id);
  }
} finally {
  for (const g of await kernel.guests.list().catch(() => [])) {
    if (g.status !== 'stopped') await kernel.guests.stop(g.vmid).catch(() => undefined);
  }
  await kernel.dispose();
  rmSync(dir, { recursive: true, force: true });
  for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'blkio']) {
    try {
      rmdirSync(`/sys/fs/cgroup/${c}/${cgroupParent}`);
    } catch {
      // not there
    }
  }
}

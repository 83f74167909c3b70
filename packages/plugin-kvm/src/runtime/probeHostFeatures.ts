import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import type { CommandRunner } from '@corral/core';
import type { QemuHostFeatures } from '../cmdline/QemuCommandLine.js';
import type { AcceleratorModeChoice } from './acceleratorMode.js';
import { kvmProbeReason } from './acceleratorStatus.js';
import { KvmProbe } from './KvmProbe.js';

/** Where Debian's `ovmf` package puts the firmware. */
const OVMF_DIR = '/usr/share/OVMF';

/** CPU models that hand the host's CPU (and its MSRs) to the guest: probed on their own under KVM. */
const HOST_CPU_MODELS: ReadonlySet<string> = new Set(['host', 'max']);

/** Options of {@link probeHostFeatures}. */
export interface HostFeatureProbeOptions {
  /** Where the OVMF firmware is looked for. Default `/usr/share/OVMF`. */
  readonly ovmfDir?: string;
  /** The KVM probe (keep one per driver: it caches). Default: a new one without a cache file. */
  readonly kvmProbe?: KvmProbe;
  /** The accelerator mode in force (see `acceleratorMode`). Default `auto` (probe). */
  readonly accelerator?: AcceleratorModeChoice;
  /** False when no KVM is wanted (a guest with `kvm: 0`, a hotplug): no probe runs. Default true. */
  readonly probeKvm?: boolean;
  /** The guest's CPU model: `host` and `max` are probed on their own when KVM is usable. */
  readonly cpuModel?: string;
}

/** Size in bytes of a readable file, or undefined. */
async function readableSize(path: string): Promise<number | undefined> {
  return (await usable(path)) ? (await stat(path)).size : undefined;
}

let qemuVersionOnce: Promise<readonly [number, number] | undefined> | undefined;

/** `major.minor` of the QEMU binary (`--version`), asked once per process; undefined when it does not answer. */
function qemuVersion(runner: CommandRunner): Promise<readonly [number, number] | undefined> {
  qemuVersionOnce ??= runner.run(['qemu-system-x86_64', '--version'], { timeoutMs: 5_000 }).then(
    (r) => {
      const m = /version (\d{1,3})\.(\d{1,3})/.exec(r.stdout.slice(0, 200));
      return m ? ([Number(m[1]), Number(m[2])] as const) : undefined;
    },
    () => undefined,
  );
  return qemuVersionOnce;
}

/** The host's iSCSI initiator name (`/etc/iscsi/initiatorname.iscsi`, as qemu-server reads it), or undefined. */
async function iscsiInitiatorName(): Promise<string | undefined> {
  const text = await readFile('/etc/iscsi/initiatorname.iscsi', 'utf8').catch(() => '');
  for (const line of text.slice(0, 4096).split('\n')) {
    const t = line.trim();
    if (t.startsWith('InitiatorName=')) return t.slice('InitiatorName='.length) || undefined;
  }
  return undefined;
}

/** What `/proc/cpuinfo` says of the first CPU: vendor id and physical address bits. */
async function cpuInfo(): Promise<{ cpuVendor?: string; physAddressBits?: number }> {
  const text = (await readFile('/proc/cpuinfo', 'utf8').catch(() => '')).slice(0, 64 * 1024);
  const out: { cpuVendor?: string; physAddressBits?: number } = {};
  for (const line of text.split('\n')) {
    if (line === '') break; // the first CPU's block ends here
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'vendor_id') out.cpuVendor = value;
    else if (key === 'address sizes') {
      const m = /^(\d{1,3}) bits physical/.exec(value);
      if (m) out.physAddressBits = Number(m[1]);
    }
  }
  return out;
}

/** Numbers N of directory entries `<prefix>N<suffix>` in `dir` (sorted), or [] when unreadable. */
async function numberedEntries(dir: string, prefix: string, suffix: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith(suffix) && /^\d{1,9}$/.test(n.slice(prefix.length, n.length - suffix.length)))
    .map((n) => Number(n.slice(prefix.length, n.length - suffix.length)))
    .sort((a, b) => a - b);
}

async function usable(path: string, mode = constants.R_OK): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Probes what the host offers QEMU: whether KVM really runs guests (see {@link KvmProbe}; or
 * what the embedder forced), /dev/vhost-net, the OVMF firmware files, the QEMU version (asked
 * once per process), the host's iSCSI initiator name, the CPU vendor and physical address
 * bits, the huge page sizes and the NUMA nodes.
 *
 * - mode `tcg`: `kvm: false`, no probe; mode `kvm`: `kvm: true`, no probe (both `accelForced`);
 * - mode `auto`: the probe decides; `kvmReason` says what it found ("KVM probe failed: ...",
 *   "KVM probe failed (provisional, probed again after <time>): ..." for a timeout).
 *   With `cpuModel` `host` or `max` and a usable KVM, that model is probed too and listed in
 *   `kvmCpuUnusable` when it fails (QEMU aborts on such hosts: "failed to set MSR 0x10a").
 *
 * Cheap after the first call of a host boot (the probe caches); the first costs one QEMU run
 * of at most the probe's bound (3 s by default), none when /dev/kvm is missing.
 */
export async function probeHostFeatures(runner: CommandRunner, options: HostFeatureProbeOptions = {}): Promise<QemuHostFeatures> {
  const dir = options.ovmfDir ?? OVMF_DIR;
  const [kvm, vhostNet, code2m, vars2m, code4m, vars4m, version, initiator, cpu, hugepageSizesKiB, numaNodes] = await Promise.all([
    kvmFeatures(runner, options),
    usable('/dev/vhost-net', constants.R_OK | constants.W_OK),
    usable(`${dir}/OVMF_CODE.fd`),
    readableSize(`${dir}/OVMF_VARS.fd`),
    usable(`${dir}/OVMF_CODE_4M.fd`),
    readableSize(`${dir}/OVMF_VARS_4M.fd`),
    qemuVersion(runner),
    iscsiInitiatorName(),
    cpuInfo(),
    numberedEntries('/sys/kernel/mm/hugepages', 'hugepages-', 'kB'),
    numberedEntries('/sys/devices/system/node', 'node', ''),
  ]);
  const ovmf: { -readonly [K in '2m' | '4m']?: { code: string; vars: string; varsSize: number } } = {};
  if (code2m && vars2m !== undefined) ovmf['2m'] = { code: `${dir}/OVMF_CODE.fd`, vars: `${dir}/OVMF_VARS.fd`, varsSize: vars2m };
  if (code4m && vars4m !== undefined) ovmf['4m'] = { code: `${dir}/OVMF_CODE_4M.fd`, vars: `${dir}/OVMF_VARS_4M.fd`, varsSize: vars4m };
  return {
    ...kvm,
    vhostNet,
    ovmf: Object.keys(ovmf).length > 0 ? ovmf : undefined,
    qemuVersion: version,
    iscsiInitiatorName: initiator,
    ...cpu,
    hugepageSizesKiB,
    // A kernel without NUMA has no node directories: one node, 0.
    numaNodes: numaNodes.length > 0 ? numaNodes : [0],
  };
}

async function kvmFeatures(runner: CommandRunner, options: HostFeatureProbeOptions): Promise<Pick<QemuHostFeatures, 'kvm' | 'kvmReason' | 'accelForced' | 'kvmCpuUnusable'>> {
  const choice = options.accelerator ?? { mode: 'auto', source: 'default' };
  if (choice.mode === 'tcg') return { kvm: false, kvmReason: `TCG forced by ${choice.source}`, accelForced: true };
  if (choice.mode === 'kvm') return { kvm: true, kvmReason: `KVM forced by ${choice.source} (not probed)`, accelForced: true };
  if (options.probeKvm === false) return { kvm: false, kvmReason: 'KVM not probed (not needed)' };
  const probe = options.kvmProbe ?? new KvmProbe();
  const main = await probe.check(runner);
  if (!main.usable) return { kvm: false, kvmReason: kvmProbeReason(main) };
  const features = { kvm: true, kvmReason: kvmProbeReason(main) };
  if (options.cpuModel === undefined || !HOST_CPU_MODELS.has(options.cpuModel)) return features;
  const model = await probe.check(runner, { cpu: options.cpuModel });
  return model.usable ? features : { ...features, kvmCpuUnusable: { [options.cpuModel]: model.reason ?? 'probe failed' } };
}

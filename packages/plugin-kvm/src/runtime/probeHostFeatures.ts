import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { CommandRunner } from '@corral/core';
import type { QemuHostFeatures } from '../cmdline/QemuCommandLine.js';
import type { AcceleratorModeChoice } from './acceleratorMode.js';
import { KvmProbe, type KvmProbeResult } from './KvmProbe.js';

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

async function usable(path: string, mode = constants.R_OK): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

function describeProbe(r: KvmProbeResult): string {
  if (r.source === 'probe') return `ran in ${r.durationMs} ms`;
  return `cached for this boot: ran in ${r.durationMs} ms at ${new Date(r.probedAt).toISOString()}`;
}

/**
 * Probes what the host offers QEMU: whether KVM really runs guests (see {@link KvmProbe}; or
 * what the embedder forced), /dev/vhost-net, and the OVMF firmware files.
 *
 * - mode `tcg`: `kvm: false`, no probe; mode `kvm`: `kvm: true`, no probe (both `accelForced`);
 * - mode `auto`: the probe decides; `kvmReason` says what it found ("KVM probe failed: ...").
 *   With `cpuModel` `host` or `max` and a usable KVM, that model is probed too and listed in
 *   `kvmCpuUnusable` when it fails (QEMU aborts on such hosts: "failed to set MSR 0x10a").
 *
 * Cheap after the first call of a host boot (the probe caches); the first costs one QEMU run
 * of at most the probe's bound (3 s by default), none when /dev/kvm is missing.
 */
export async function probeHostFeatures(runner: CommandRunner, options: HostFeatureProbeOptions = {}): Promise<QemuHostFeatures> {
  const dir = options.ovmfDir ?? OVMF_DIR;
  const [kvm, vhostNet, code2m, vars2m, code4m, vars4m] = await Promise.all([
    kvmFeatures(runner, options),
    usable('/dev/vhost-net', constants.R_OK | constants.W_OK),
    usable(`${dir}/OVMF_CODE.fd`),
    usable(`${dir}/OVMF_VARS.fd`),
    usable(`${dir}/OVMF_CODE_4M.fd`),
    usable(`${dir}/OVMF_VARS_4M.fd`),
  ]);
  const ovmf: { '2m'?: { code: string; vars: string }; '4m'?: { code: string; vars: string } } = {};
  if (code2m && vars2m) ovmf['2m'] = { code: `${dir}/OVMF_CODE.fd`, vars: `${dir}/OVMF_VARS.fd` };
  if (code4m && vars4m) ovmf['4m'] = { code: `${dir}/OVMF_CODE_4M.fd`, vars: `${dir}/OVMF_VARS_4M.fd` };
  return { ...kvm, vhostNet, ovmf: Object.keys(ovmf).length > 0 ? ovmf : undefined };
}

async function kvmFeatures(runner: CommandRunner, options: HostFeatureProbeOptions): Promise<Pick<QemuHostFeatures, 'kvm' | 'kvmReason' | 'accelForced' | 'kvmCpuUnusable'>> {
  const choice = options.accelerator ?? { mode: 'auto', source: 'default' };
  if (choice.mode === 'tcg') return { kvm: false, kvmReason: `TCG forced by ${choice.source}`, accelForced: true };
  if (choice.mode === 'kvm') return { kvm: true, kvmReason: `KVM forced by ${choice.source} (not probed)`, accelForced: true };
  if (options.probeKvm === false) return { kvm: false, kvmReason: 'KVM not probed (not needed)' };
  const probe = options.kvmProbe ?? new KvmProbe();
  const main = await probe.check(runner);
  if (!main.usable) return { kvm: false, kvmReason: `KVM probe failed${main.source === 'probe' || main.source === 'device' ? '' : ' (cached for this boot)'}: ${main.reason}` };
  const features = { kvm: true, kvmReason: `KVM probe passed (${describeProbe(main)})` };
  if (options.cpuModel === undefined || !HOST_CPU_MODELS.has(options.cpuModel)) return features;
  const model = await probe.check(runner, { cpu: options.cpuModel });
  return model.usable ? features : { ...features, kvmCpuUnusable: { [options.cpuModel]: model.reason ?? 'probe failed' } };
}

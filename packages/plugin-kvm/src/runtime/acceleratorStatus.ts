/**
 * What accelerator a VM start gets now, how it was chosen, and whether that answer is
 * provisional: the plugin's accelerator status for embedders (see
 * `QemuHypervisorDriver.acceleratorStatus`), and the reason text the start task logs.
 *
 * @packageDocumentation
 */
import type { CommandRunner } from '@corral/core';
import type { AcceleratorModeChoice } from './acceleratorMode.js';
import type { KvmProbe, KvmProbeResult } from './KvmProbe.js';

/** The accelerator choice of the QEMU driver, as {@link acceleratorStatus} reports it. */
export interface QemuAcceleratorStatus {
  /** The accelerator a VM that wants KVM (`kvm: 1`, the default) gets now; `kvm: 0` VMs always get TCG. */
  readonly accel: 'kvm' | 'tcg';
  /** The accelerator mode in force and who set it (`default`, `CORRAL_QEMU_ACCEL=tcg`, the plugin option). */
  readonly mode: AcceleratorModeChoice;
  /**
   * How `accel` was chosen: `forced` (mode `kvm` or `tcg`, no probe), `probe` (QEMU ran for
   * this answer), `cache` (an earlier probe, in memory or the cache file), `device` (no
   * usable /dev/kvm or no QEMU binary: nothing to probe).
   */
  readonly chosenBy: 'forced' | 'probe' | 'cache' | 'device';
  /** Why, as the start task logs it ("KVM probe failed (provisional, ...): ..."). */
  readonly reason: string;
  /**
   * True when the answer may change without a reboot: the probe timed out (a loaded host can
   * make a working KVM miss the bound) or QEMU could not start. It is probed again after
   * `validUntil`, or at once on `reprobeAccelerator`.
   */
  readonly provisional: boolean;
  /** ISO time after which the next start probes again (provisional answers only). */
  readonly validUntil?: string;
  /** ISO time of the QEMU run behind the answer (`probe` and `cache` only). */
  readonly probedAt?: string;
}

/**
 * The reason text of a KVM probe's answer: `KVM probe passed (ran in 12 ms)`, `KVM probe
 * failed (cached for this boot): ...`, `KVM probe failed (provisional, probed again after
 * <ISO time>): ...`.
 */
export function kvmProbeReason(r: KvmProbeResult): string {
  if (r.usable) {
    if (r.source === 'probe') return `KVM probe passed (ran in ${r.durationMs} ms)`;
    return `KVM probe passed (cached for this boot: ran in ${r.durationMs} ms at ${new Date(r.probedAt).toISOString()})`;
  }
  if (r.validUntil !== undefined) return `KVM probe failed (provisional, probed again after ${new Date(r.validUntil).toISOString()}): ${r.reason}`;
  return `KVM probe failed${r.source === 'probe' || r.source === 'device' ? '' : ' (cached for this boot)'}: ${r.reason}`;
}

/**
 * The accelerator a VM start would get now under `mode`: forced modes answer at once; `auto`
 * asks `kvmProbe` (cached per host boot; when nothing is cached this runs the probe, at most
 * its bound plus QEMU's start-up).
 */
export async function acceleratorStatus(runner: CommandRunner, options: { kvmProbe: KvmProbe; mode: AcceleratorModeChoice }): Promise<QemuAcceleratorStatus> {
  const { mode } = options;
  if (mode.mode === 'tcg') return { accel: 'tcg', mode, chosenBy: 'forced', reason: `TCG forced by ${mode.source}`, provisional: false };
  if (mode.mode === 'kvm') return { accel: 'kvm', mode, chosenBy: 'forced', reason: `KVM forced by ${mode.source} (not probed)`, provisional: false };
  const r = await options.kvmProbe.check(runner);
  return {
    accel: r.usable ? 'kvm' : 'tcg',
    mode,
    chosenBy: r.source === 'probe' || r.source === 'device' ? r.source : 'cache',
    reason: kvmProbeReason(r),
    provisional: r.validUntil !== undefined,
    ...(r.validUntil !== undefined ? { validUntil: new Date(r.validUntil).toISOString() } : {}),
    ...(r.probedAt > 0 ? { probedAt: new Date(r.probedAt).toISOString() } : {}),
  };
}

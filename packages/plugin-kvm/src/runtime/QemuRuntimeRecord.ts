import { readFile, rename, writeFile } from 'node:fs/promises';
import type { GuestNic } from '@corral/core';
import type { ResourcePlacement } from '../resources/ResourceControl.js';

/**
 * What the driver writes next to the pid file when a VM starts (`runtime.json`), so that a
 * later call, or another kernel after a restart, knows what the running QEMU was started with.
 */
export interface QemuRuntimeRecord {
  readonly vmid: number;
  readonly pid: number;
  /** Start time, ms since the epoch. */
  readonly startedAt: number;
  readonly accel: 'kvm' | 'tcg';
  /** Why that accelerator ("KVM probe failed: ...", "TCG forced by CORRAL_QEMU_ACCEL=tcg"...). */
  readonly accelReason?: string;
  /** QEMU's log file and the serial ports' log files by config key (`serial0`). */
  readonly logs?: { readonly qemu: string; readonly serial: Readonly<Record<string, string>> };
  /** Tap devices made for NICs (`net0` → `tap100i0`). */
  readonly taps: Readonly<Record<string, string>>;
  /** The NICs plugged through core's NIC plugging, by key (unplugged at stop; absent in records of older Corral versions). */
  readonly nics?: Readonly<Record<string, GuestNic>>;
  /** Volumes the VM holds open by config key (for deactivation at stop). */
  readonly volumes: Readonly<Record<string, string>>;
  readonly placement?: ResourcePlacement;
  /** The argv QEMU was started with. */
  readonly argv: readonly string[];
}

/** Reads the record; undefined when missing or unreadable. */
export async function readRuntimeRecord(path: string): Promise<QemuRuntimeRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as QemuRuntimeRecord;
  } catch {
    return undefined;
  }
}

/** Writes the record atomically (temp file + rename). */
export async function writeRuntimeRecord(path: string, record: QemuRuntimeRecord): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(tmp, path);
}

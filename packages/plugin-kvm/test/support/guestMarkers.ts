/**
 * Parsing of the test guest's serial markers (protocol in
 * packages/plugin-kvm/scripts/guest/init.sh).
 *
 * @packageDocumentation
 */
import type { SerialConsole, SerialWaitOptions } from './SerialConsole.js';

/** A block device as the guest sees it (`CORRAL-DISK` / `CORRAL-DISK-ADDED`). */
export interface GuestDisk {
  /** Kernel name: vda, sda... */
  name: string;
  /** Size in bytes. */
  sizeBytes: number;
  /** Serial, or undefined when the device has none. */
  serial: string | undefined;
  /** SCSI model (QEMUHARDDISK...), undefined for virtio-blk. */
  model: string | undefined;
  /** SCSI address host:channel:target:lun, undefined for virtio-blk. */
  hctl: string | undefined;
}

/** A NIC as the guest sees it (`CORRAL-NIC` / `CORRAL-NIC-ADDED`). */
export interface GuestNic {
  name: string;
  /** Lower-case MAC. */
  mac: string;
  /** Kernel driver (virtio_net), undefined when unknown. */
  driver: string | undefined;
}

/** What the guest reported while booting. */
export interface GuestBootReport {
  kernel: string;
  protocol: number;
  disks: GuestDisk[];
  nics: GuestNic[];
  /** True when qemu-ga runs (CORRAL-QGA-STARTED). */
  agentStarted: boolean;
  /** Guest uptime at CORRAL-GUEST-READY, seconds. */
  guestUptimeSeconds: number;
  /** Modules whose insmod failed. */
  failedModules: string[];
  /** Index of the READY line in the console's lines. */
  readyIndex: number;
  /** `Date.now()` when READY arrived. */
  readyAt: number;
}

/** `key=value` pairs of a marker line. */
export function markerFields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\S+?)=(\S*)/g)) out[m[1]!] = m[2]!;
  return out;
}

const dash = (v: string | undefined): string | undefined => (v === undefined || v === '-' || v === '' ? undefined : v);

/** Parses a `CORRAL-DISK ...` or `CORRAL-DISK-ADDED ...` line. */
export function parseDiskMarker(line: string): GuestDisk {
  const f = markerFields(line);
  return { name: f.name!, sizeBytes: Number(f.size), serial: dash(f.serial), model: dash(f.model), hctl: dash(f.hctl) };
}

/** Parses a `CORRAL-NIC ...` or `CORRAL-NIC-ADDED ...` line. */
export function parseNicMarker(line: string): GuestNic {
  const f = markerFields(line);
  return { name: f.name!, mac: (f.mac ?? '').toLowerCase(), driver: dash(f.driver) };
}

/**
 * Waits for CORRAL-GUEST-READY and parses the boot report from the lines before it. The
 * timeout (default 60 s) is a quiet timeout: it runs only while the guest prints nothing
 * (SeaBIOS's boot menu wait, a quiet kernel), so a slow boot on a loaded machine that keeps
 * printing is waited for; a console that closes (QEMU exited) fails at once.
 */
export async function readBootReport(serial: SerialConsole, options: SerialWaitOptions = {}): Promise<GuestBootReport> {
  const ready = await serial.waitForLine(/^CORRAL-GUEST-READY /, { timeoutMs: 60_000, ...options });
  const init = await serial.waitForLine(/^CORRAL-GUEST-INIT /, { from: options.from, timeoutMs: 1 });
  const lines = serial.lines.slice(init.index, ready.index + 1);
  const initFields = markerFields(init.line);
  return {
    kernel: initFields.kernel ?? '',
    protocol: Number(initFields.proto),
    disks: lines.filter((l) => l.startsWith('CORRAL-DISK ')).map(parseDiskMarker),
    nics: lines.filter((l) => l.startsWith('CORRAL-NIC ')).map(parseNicMarker),
    agentStarted: lines.some((l) => l.startsWith('CORRAL-QGA-STARTED')),
    guestUptimeSeconds: Number(markerFields(ready.line).uptime),
    failedModules: lines.filter((l) => l.startsWith('CORRAL-MODULE-FAILED ')).map((l) => l.split(' ')[1]!),
    readyIndex: ready.index,
    readyAt: ready.at,
  };
}

/**
 * Machine versions: which QEMU machine version a VM runs (pinned, or the host QEMU's), and
 * comparisons on it. qemu-server gates most of its defaults on this version.
 *
 * @packageDocumentation
 */
import { windowsVersion } from '../config/windowsVersion.js';

/** A machine version: QEMU's `major.minor` and Proxmox's revision of it (`+pveN`). */
export type MachineVersion = readonly [major: number, minor: number, pveRevision: number];

/** The machine version assumed when neither the machine type nor the host says (qemu-server 9's QEMU). */
export const NEWEST_KNOWN_MACHINE_VERSION: readonly [number, number] = [11, 0];

/**
 * The newest `+pveN` revision of each machine version that has one (qemu-server's list): an
 * unpinned machine runs as that revision, a pinned one without `+pveN` as revision 0.
 */
const NEWEST_PVE_REVISION: Readonly<Record<string, number>> = { '4.1': 2, '9.2': 1, '10.0': 1, '11.0': 2 };

/**
 * True when `version` is `major.minor` (Proxmox revision `pve` or later) or a later version.
 * A version without a revision (a QEMU binary's) counts as revision 0.
 */
export function machineAtLeast(version: readonly [number, number, number?], major: number, minor: number, pve = 0): boolean {
  if (version[0] !== major) return version[0] > major;
  if (version[1] !== minor) return version[1] > minor;
  return (version[2] ?? 0) >= pve;
}

/**
 * The version of machine type `machine` (as QEMU names it, without `+pveN`): pinned
 * (`pc-i440fx-X.Y`, `pc-q35-X.Y`) at revision `pveRevision` (default 0); an unpinned type
 * (`pc`, `q35`) is the host QEMU's newest (else {@link NEWEST_KNOWN_MACHINE_VERSION}) at its
 * newest revision.
 */
export function machineVersion(machine: string, host: { readonly qemuVersion?: readonly [number, number] }, pveRevision?: number): MachineVersion {
  const dash = machine.lastIndexOf('-');
  const parts = dash < 0 ? [] : machine.slice(dash + 1).split('.').map(Number);
  if (parts.length === 2 && parts.every((n) => Number.isInteger(n))) return [parts[0]!, parts[1]!, pveRevision ?? 0];
  const [major, minor] = host.qemuVersion ?? NEWEST_KNOWN_MACHINE_VERSION;
  return [major, minor, pveRevision ?? NEWEST_PVE_REVISION[`${major}.${minor}`] ?? 0];
}

/** What {@link runMachineType} reads of a VM's config. */
export interface MachineChoice {
  readonly machine: { readonly qemuMachine: string };
  readonly ostype?: string;
  /** `major.minor` of the QEMU that created the VM (`meta: creation-qemu=`), when recorded. */
  readonly creationQemu?: readonly [number, number];
}

/**
 * The machine type QEMU runs for a VM: the configured one, except that an unpinned type
 * (`pc`, `q35`) of a Windows guest is pinned as qemu-server pins it, because Windows reacts
 * to a changed ACPI layout: to the creating QEMU's version when that is 9.1 or later, else
 * to 5.1 (5.2 moved ACPI tables Windows had seen), and never above the host QEMU's version.
 */
export function runMachineType(c: MachineChoice, host: { readonly qemuVersion?: readonly [number, number] }): string {
  const configured = c.machine.qemuMachine;
  if (windowsVersion(c.ostype) === 0 || (configured !== 'pc' && configured !== 'q35')) return configured;
  const installed = host.qemuVersion ?? NEWEST_KNOWN_MACHINE_VERSION;
  let pin: readonly [number, number] = c.creationQemu !== undefined && machineAtLeast(c.creationQemu, 9, 1) ? c.creationQemu : [5, 1];
  if (!machineAtLeast(installed, pin[0], pin[1])) pin = installed;
  return `${configured === 'pc' ? 'pc-i440fx' : 'pc-q35'}-${pin[0]}.${pin[1]}`;
}

import { InvalidVolumeIdError, type ParsedVolname } from '@corral/core';

/** Proxmox's `parse_lvm_name`: a letter or digit, then letters, digits, `-`, `_`, `.`, ending in a letter or digit. */
const LVM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]$/;

/** The parts of an lvm/lvmthin volume name (the volume name is the LV name). */
export interface LvmVolname extends ParsedVolname {
  /** LV name in the volume group. */
  readonly name: string;
  readonly format: 'raw';
  readonly vmid: number;
}

/**
 * Decodes an `lvm` volume name, as Proxmox's LVMPlugin: `vm-<vmid>-<x>`, an LV name (raw).
 * Names ending in `.qcow2` (Proxmox 9's `snapshot-as-volume-chain`) are refused: not
 * implemented here.
 *
 * @throws InvalidVolumeIdError for anything else.
 */
export function parseLvmVolname(volname: string): LvmVolname {
  const m = /^vm-(\d+)-\S+$/.exec(volname);
  if (!m || !LVM_NAME.test(volname)) {
    throw new InvalidVolumeIdError(volname, "not an lvm volume name (expected 'vm-<vmid>-<x>' of letters, digits, '-', '_', '.')");
  }
  if (volname.endsWith('.qcow2')) throw new InvalidVolumeIdError(volname, 'qcow2 volume chains on LVM (snapshot-as-volume-chain) are not supported');
  return { volname, content: 'images', vmid: Number(m[1]), name: volname, format: 'raw', isBase: false };
}

/**
 * Decodes an `lvmthin` volume name, as Proxmox's LvmThinPlugin: `vm-<vmid>-<x>` or, for a
 * template, `base-<vmid>-<x>` (raw). Linked clones carry no base in their name (a thin
 * snapshot does not need its origin; Proxmox's volids do not record it either).
 *
 * @throws InvalidVolumeIdError for anything else.
 */
export function parseLvmThinVolname(volname: string): LvmVolname {
  const m = /^(vm|base)-(\d+)-\S+$/.exec(volname);
  if (!m || !LVM_NAME.test(volname)) {
    throw new InvalidVolumeIdError(volname, "not an lvmthin volume name (expected 'vm-<vmid>-<x>' or 'base-<vmid>-<x>' of letters, digits, '-', '_', '.')");
  }
  return { volname, content: 'images', vmid: Number(m[2]), name: volname, format: 'raw', isBase: m[1] === 'base' };
}

/** LV name of a thin snapshot (Proxmox's `snap_<volname>_<snap>`). */
export function thinSnapshotLv(volname: string, snapshot: string): string {
  return `snap_${volname}_${snapshot}`;
}

/** The snapshot name of `lv` when it is a thin snapshot of `volname`, else undefined. */
export function parseThinSnapshotLv(lv: string, volname: string): string | undefined {
  const prefix = `snap_${volname}_`;
  if (!lv.startsWith(prefix)) return undefined;
  const snap = lv.slice(prefix.length);
  return /^[A-Za-z][A-Za-z0-9_-]*$/.test(snap) ? snap : undefined;
}

/** The base name of a volume (`vm-100-disk-0` → `base-100-disk-0`). */
export function lvmBaseName(volname: string): string {
  return volname.replace(/^vm-/, 'base-');
}

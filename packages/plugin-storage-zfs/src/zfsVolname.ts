import { InvalidVolumeIdError, type ParsedVolname, type VolumeFormat } from '@corral/core';

/**
 * Characters of a volume name on a zfspool storage: letters, digits, `_`, `.`, `-` (a subset
 * of what ZFS allows in a dataset name, and what Proxmox's names use).
 */
const NAME = '[A-Za-z0-9_.-]+';

/**
 * Proxmox's `parse_volname` of ZFSPoolPlugin, with a stricter name alphabet:
 * `[<base|basevol>-<vmid>-<x>/]<vm|base|subvol|basevol>-<vmid>-<x>`.
 */
const VOLNAME_RE = new RegExp(`^(?:((?:base|basevol)-(\\d+)-${NAME})/)?((base|basevol|vm|subvol)-(\\d+)-${NAME})$`);

/** The parts of a zfspool volume name. */
export interface ZfsVolname extends ParsedVolname {
  /** Dataset name below the storage's pool (`vm-100-disk-0`). */
  readonly name: string;
  /** `raw` for zvols (`vm-`/`base-`), `subvol` for filesystems (`subvol-`/`basevol-`). */
  readonly format: 'raw' | 'subvol';
  /** Guest id from the name. */
  readonly vmid: number;
}

/**
 * Decodes a zfspool volume name (`vm-100-disk-0`, `subvol-100-disk-0`,
 * `base-100-disk-0/vm-101-disk-0`...). `vm-`/`base-` are zvols (format `raw`, content
 * `images`); `subvol-`/`basevol-` are filesystems (format `subvol`, content `rootdir`).
 *
 * @throws InvalidVolumeIdError when the name is not a zfspool volume name.
 */
export function parseZfsVolname(volname: string): ZfsVolname {
  const m = VOLNAME_RE.exec(volname);
  if (!m) {
    throw new InvalidVolumeIdError(volname, "not a zfspool volume name (expected '[base-<vmid>-<x>/]vm|subvol|base|basevol-<vmid>-<x>')");
  }
  const [, baseVolname, , name, prefix, vmid] = m as unknown as [string, string | undefined, string | undefined, string, string, string];
  const format: 'raw' | 'subvol' = prefix === 'subvol' || prefix === 'basevol' ? 'subvol' : 'raw';
  if (baseVolname !== undefined) {
    const baseIsSubvol = baseVolname.startsWith('basevol-');
    if (baseIsSubvol !== (format === 'subvol')) {
      throw new InvalidVolumeIdError(volname, `a ${format} volume cannot be a linked clone of '${baseVolname}'`);
    }
  }
  return {
    volname,
    content: format === 'subvol' ? 'rootdir' : 'images',
    vmid: Number(vmid),
    name,
    format,
    isBase: prefix === 'base' || prefix === 'basevol',
    baseVolname,
  };
}

/** Name prefix a new volume of `format` owned by `vmid` must carry (`vm-100-` or `subvol-100-`). */
export function zfsNamePrefix(format: VolumeFormat, vmid: number): string {
  return `${format === 'subvol' ? 'subvol' : 'vm'}-${vmid}-`;
}

/** The base name of a volume name (`vm-100-disk-0` → `base-100-disk-0`, `subvol-...` → `basevol-...`). */
export function zfsBaseName(name: string): string {
  return name.replace(/^vm-/, 'base-').replace(/^subvol-/, 'basevol-');
}

/** True for a dataset name (below the pool) that a zfspool storage lists. */
export function isZfsVolumeName(name: string): boolean {
  return new RegExp(`^(?:vm|base|subvol|basevol)-\\d+-${NAME}$`).test(name);
}

import { InvalidVolumeIdError, type ParsedVolname } from '@corral/core';

/** Characters of an rbd image name Corral accepts (no `/`, `@`, spaces). */
const NAME = '[A-Za-z0-9_.-]+';
const VOLNAME_RE = new RegExp(`^(?:(base-(\\d+)-${NAME})/)?((vm|base)-(\\d+)-${NAME})$`);

/** The parts of an rbd volume name. */
export interface RbdVolname extends ParsedVolname {
  /** The image name (`vm-100-disk-0`). */
  readonly name: string;
  /** Always `raw`. */
  readonly format: 'raw';
  /** Guest id from the name. */
  readonly vmid: number;
}

/**
 * Decodes an rbd volume name, Proxmox's `[base-<vmid>-<x>/]vm|base-<vmid>-<x>` (content
 * `images`, format `raw`; a `base-X/` prefix names the template a linked clone depends on).
 *
 * @throws InvalidVolumeIdError for anything else.
 */
export function parseRbdVolname(volname: string): RbdVolname {
  const m = VOLNAME_RE.exec(volname);
  if (!m) throw new InvalidVolumeIdError(volname, "not an rbd volume name (expected '[base-<vmid>-<x>/]vm|base-<vmid>-<x>')");
  const [, baseVolname, , name, prefix, vmid] = m as unknown as [string, string | undefined, string | undefined, string, string, string];
  return { volname, content: 'images', vmid: Number(vmid), name, format: 'raw', isBase: prefix === 'base', baseVolname };
}

/** The template name of an image (`vm-100-disk-0` → `base-100-disk-0`). */
export function rbdBaseName(name: string): string {
  return name.replace(/^vm-/, 'base-');
}

/** True for an image name an rbd storage lists (`vm-<vmid>-...`, `base-<vmid>-...`). */
export function isRbdVolumeName(name: string): boolean {
  return new RegExp(`^(?:vm|base)-\\d+-${NAME}$`).test(name);
}

/**
 * Volume names of a mounted-share storage (`nfs`, `cifs`, `glusterfs`). Proxmox's NFSPlugin (and CIFS, GlusterFS) inherit `parse_volname` from their
 * file-storage base, so the names are those of a dir storage: `<vmid>/<file>` images,
 * `<basevmid>/<basefile>/<vmid>/<file>` linked clones, and the names of non-guest content
 * (`iso/`, `vztmpl/`, `backup/`, `snippets/`, `import/`: core's `parseFileVolname`). This
 * driver holds raw and qcow2 images (no subvols).
 *
 * @packageDocumentation
 */
import { InvalidVolumeIdError } from '../../errors.js';
import { parseFileVolname } from '../fileStorageContent.js';
import type { ParsedVolname, StorageContent, VolumeFormat } from '../../contracts/storage.js';

/** An image file name: `[base-]<name>.(raw|qcow2)`, no slash or white space. */
const SHARE_IMAGE_NAME_RE = /^(base-)?[^/\s]+\.(raw|qcow2)$/;
const VMID_RE = /^[1-9]\d{0,8}$/;

/** A decoded share volume name. */
export interface ShareVolname {
  readonly content: StorageContent;
  /** File name inside its directory. */
  readonly name: string;
  readonly vmid?: number;
  readonly format: VolumeFormat;
  readonly isBase: boolean;
  /** For a linked clone: the base's guest and file name. */
  readonly base?: { readonly vmid: number; readonly name: string };
  /** For a disk inside an OVA (`import/<archive>.ova/<disk>`): the archive's file name. */
  readonly archive?: string;
}

function invalid(volname: string, why: string): never {
  throw new InvalidVolumeIdError(volname, why);
}

function image(volname: string, vmid: string, name: string): { vmid: number; name: string; format: VolumeFormat; isBase: boolean } {
  if (!VMID_RE.test(vmid)) invalid(volname, `'${vmid}' is not a guest id`);
  const m = SHARE_IMAGE_NAME_RE.exec(name);
  if (!m) invalid(volname, `'${name}' is not a share image name ([base-]<name>.raw|qcow2)`);
  return {
    vmid: Number(vmid),
    name,
    format: m[2] as VolumeFormat,
    isBase: m[1] !== undefined,
  };
}

/**
 * Decodes a share volume name.
 *
 * @throws InvalidVolumeIdError naming what does not fit (a name of another storage type, a
 *   subvol, a file with the wrong extension for its content).
 */
export function parseShareVolname(volname: string): ShareVolname {
  const file = parseFileVolname(volname);
  if (file) return { content: file.content, name: file.name, format: file.format, isBase: false, ...(file.vmid !== undefined ? { vmid: file.vmid } : {}), ...(file.archive ? { archive: file.archive } : {}) };
  const parts = volname.split('/');
  if (parts.length === 2) return { content: 'images', ...image(volname, parts[0]!, parts[1]!) };
  if (parts.length === 4) {
    const base = image(volname, parts[0]!, parts[1]!);
    if (!base.isBase) invalid(volname, `the base of a linked clone must be a base- image, not '${parts[1]}'`);
    const clone = image(volname, parts[2]!, parts[3]!);
    if (clone.isBase || clone.format !== 'qcow2') invalid(volname, `a linked clone is a qcow2 vm- image, not '${parts[3]}'`);
    return {
      content: 'images',
      ...clone,
      base: { vmid: base.vmid, name: base.name },
    };
  }
  return invalid(volname, 'not a share volume name (<vmid>/<file>, iso/<file>, vztmpl/<file>, backup/<file>, snippets/<file>, import/<file>)');
}

/** The image volname of a decoded image (`<vmid>/<file>`, or the linked-clone form). */
export function shareImageVolname(v: Pick<ShareVolname, 'vmid' | 'name' | 'base'>): string {
  const own = `${v.vmid}/${v.name}`;
  return v.base ? `${v.base.vmid}/${v.base.name}/${own}` : own;
}

/** The contract's {@link ParsedVolname} of a decoded name. */
export function toParsedVolname(volname: string, v: ShareVolname): ParsedVolname {
  return {
    volname,
    content: v.content,
    name: v.name,
    format: v.format,
    isBase: v.isBase,
    ...(v.vmid !== undefined ? { vmid: v.vmid } : {}),
    ...(v.base ? { baseVolname: `${v.base.vmid}/${v.base.name}` } : {}),
  };
}

/**
 * Volume names of an `nfs` storage. Proxmox's NFSPlugin inherits `parse_volname` from its
 * file-storage base, so the names are those of a dir storage: `<vmid>/<file>` images,
 * `<basevmid>/<basefile>/<vmid>/<file>` linked clones, `iso/<file>`, `vztmpl/<file>`,
 * `backup/<file>`, `snippets/<file>`. This driver holds raw and qcow2 images (no subvols).
 *
 * @packageDocumentation
 */
import { InvalidVolumeIdError, type ParsedVolname, type StorageContent, type VolumeFormat } from '@corral/core';

/** An image file name: `[base-]<name>.(raw|qcow2)`, no slash or white space. */
export const SHARE_IMAGE_NAME_RE = /^(base-)?[^/\s]+\.(raw|qcow2)$/;
/** An iso file name (`.iso`/`.img`, any case), as pve's `ISO_EXT_RE_0`. */
const ISO_FILE_RE = /^[^/]+\.(?:iso|img)$/i;
/** A container template (`.tar`, `.tar.{gz,xz,zst,bz2}`), as pve's `VZTMPL_EXT_RE_1`. */
const VZTMPL_FILE_RE = /^[^/]+\.tar(?:\.(?:gz|xz|zst|bz2))?$/i;
/** A backup file (`.tgz`, `.tar[.gz|.lzo|.zst|.bz2]`, `.vma[...]`), as pve's `BACKUP_EXT_RE_2`. */
const BACKUP_FILE_RE = /^[^/]+\.(tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)$/;
const BACKUP_VMID_RE = /^vzdump-(?:openvz|lxc|qemu)-(\d+)-/;
const VMID_RE = /^[1-9]\d{0,8}$/;

/** A decoded nfs volume name. */
export interface ShareVolname {
  readonly content: StorageContent;
  /** File name inside its directory. */
  readonly name: string;
  readonly vmid?: number;
  readonly format: VolumeFormat;
  readonly isBase: boolean;
  /** For a linked clone: the base's guest and file name. */
  readonly base?: { readonly vmid: number; readonly name: string };
}

function invalid(volname: string, why: string): never {
  throw new InvalidVolumeIdError(volname, why);
}

function image(volname: string, vmid: string, name: string): { vmid: number; name: string; format: VolumeFormat; isBase: boolean } {
  if (!VMID_RE.test(vmid)) invalid(volname, `'${vmid}' is not a guest id`);
  const m = SHARE_IMAGE_NAME_RE.exec(name);
  if (!m) invalid(volname, `'${name}' is not an nfs image name ([base-]<name>.raw|qcow2)`);
  return {
    vmid: Number(vmid),
    name,
    format: m[2] as VolumeFormat,
    isBase: m[1] !== undefined,
  };
}

/**
 * Decodes an nfs volume name.
 *
 * @throws InvalidVolumeIdError naming what does not fit (a name of another storage type, a
 *   subvol, a file with the wrong extension for its content).
 */
export function parseShareVolname(volname: string): ShareVolname {
  const parts = volname.split('/');
  const [head, file] = parts;
  if (parts.length === 2 && file !== undefined) {
    switch (head) {
      case 'iso':
        if (!ISO_FILE_RE.test(file)) invalid(volname, `'${file}' is not an iso file name (.iso, .img)`);
        return { content: 'iso', name: file, format: 'iso', isBase: false };
      case 'vztmpl':
        if (!VZTMPL_FILE_RE.test(file)) invalid(volname, `'${file}' is not a container template name (.tar[.gz|.xz|.zst|.bz2])`);
        return { content: 'vztmpl', name: file, format: 'tar', isBase: false };
      case 'backup': {
        const m = BACKUP_FILE_RE.exec(file);
        if (!m) invalid(volname, `'${file}' is not a backup file name`);
        const owner = BACKUP_VMID_RE.exec(file);
        const format: VolumeFormat = m[1]!.startsWith('vma') ? 'vma' : m[1] === 'tgz' ? 'tgz' : 'tar';
        return {
          content: 'backup',
          name: file,
          format,
          isBase: false,
          ...(owner ? { vmid: Number(owner[1]) } : {}),
        };
      }
      case 'snippets':
        return {
          content: 'snippets',
          name: file,
          format: 'file',
          isBase: false,
        };
      default: {
        const img = image(volname, head!, file);
        return { content: 'images', ...img };
      }
    }
  }
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
  return invalid(volname, 'not an nfs volume name (<vmid>/<file>, iso/<file>, vztmpl/<file>, backup/<file>, snippets/<file>)');
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

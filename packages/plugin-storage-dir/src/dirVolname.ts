/**
 * Volume names of a `dir` storage, decoded as pve-storage's `PVE::Storage::Plugin::parse_volname`
 * and `parse_name_dir` do (same regexes, same accepted and refused names); the names of
 * non-guest content (`iso/`, `vztmpl/`, `backup/`, `snippets/`, `import/`) are core's
 * `parseFileVolname`, shared by every file storage.
 *
 * @packageDocumentation
 */
import { checkVolname, InvalidVolumeIdError, parseFileVolname, type ParsedVolname, type StorageContent, type VolumeFormat } from '@corral/core';

/** Image formats a dir storage holds (`parse_name_dir`). */
export const DIR_IMAGE_FORMATS = ['raw', 'qcow2', 'vmdk', 'subvol'] as const;

/** `parse_name_dir`: `[base-]<name>.(raw|qcow2|vmdk|subvol)`, no slash or whitespace. */
export const IMAGE_NAME_RE = /^((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))$/;
const DIGITS_RE = /^\d+$/;
const WHITESPACE_RE = /\s/;

/**
 * A decoded dir volume name. Field for field what `parse_volname` returns
 * (`vtype, name, vmid, basename, basevmid, isBase, format`), typed.
 */
export interface DirVolname {
  /** The content type (`parse_volname`'s vtype; subvols are `rootdir`, see {@link parseDirVolname}). */
  readonly content: StorageContent;
  /** File name inside the content directory (`vm-100-disk-0.qcow2`, `debian.iso`). */
  readonly name: string;
  /** Owner guest, when the name carries one. */
  readonly vmid?: number;
  /** For a linked clone: file name of the base (`base-100-disk-0.qcow2`). */
  readonly baseName?: string;
  /** For a linked clone: guest id owning the base. */
  readonly baseVmid?: number;
  /** True for a template base (`base-` prefix). */
  readonly isBase: boolean;
  /** Image format, or the file kind of non-guest content (`iso`, `tgz`, `vma`, `file`, `ova`...). */
  readonly format: VolumeFormat;
  /** For a disk inside an OVA (`import/<archive>.ova/<disk>`): the archive's file name. */
  readonly archive?: string;
}

function invalid(volname: string, why: string): never {
  throw new InvalidVolumeIdError(volname, why);
}

/**
 * The image forms of `parse_volname`, `<vmid>/<name>` and `<basevmid>/<basename>/<vmid>/<name>`
 * (Proxmox's `^(\d+)\/(\S+)$` and `^(\d+)\/(\S+)\/(\d+)\/(\S+)$`), split on `/` instead of
 * matched with those patterns, which backtrack polynomially on long names.
 */
function splitImageVolname(volname: string): { vmid: string; name: string; baseVmid?: string; baseName?: string } | undefined {
  if (WHITESPACE_RE.test(volname)) return undefined;
  const segments = volname.split('/');
  if (segments.length < 2 || !DIGITS_RE.test(segments[0]!)) return undefined;
  if (segments.length === 4 && DIGITS_RE.test(segments[2]!)) {
    return { baseVmid: segments[0]!, baseName: segments[1]!, vmid: segments[2]!, name: segments[3]! };
  }
  return { vmid: segments[0]!, name: segments.slice(1).join('/') };
}

/** `parse_name_dir`: the format and base flag of an image file name. */
export function parseImageName(volname: string, name: string): { format: 'raw' | 'qcow2' | 'vmdk' | 'subvol'; isBase: boolean } {
  const m = IMAGE_NAME_RE.exec(name);
  if (!m) invalid(volname, `unable to parse volume filename '${name}' (expected [base-]<name>.raw|qcow2|vmdk|subvol)`);
  return { format: m[3] as 'raw' | 'qcow2' | 'vmdk' | 'subvol', isBase: m[2] !== undefined };
}

/**
 * Decodes a dir volume name as `parse_volname` does:
 *
 * - `<vmid>/<name>`: an image (`vm-100-disk-0.qcow2`, `base-100-disk-0.raw`) or a container
 *   subvol directory (`subvol-100-disk-0.subvol`);
 * - `<basevmid>/<basename>/<vmid>/<name>`: a linked clone of `basename`;
 * - `iso/<file>.iso|img`, `vztmpl/<file>.tar[.gz|.xz|.zst|.bz2]`,
 *   `backup/<file>.{vma,tar}[.gz|.lzo|.zst|.bz2]|.tgz`, `snippets/<file>`,
 *   `import/<file>.ova|ovf|qcow2|raw|vmdk` and `import/<file>.ova/<disk>.qcow2|raw|vmdk`
 *   (core's `parseFileVolname`).
 *
 * Differences from Proxmox, on purpose: subvol images are content `rootdir` (Proxmox says
 * `images` and decides by the owning guest's type); `rootdir/<vmid>` (OpenVZ private dirs)
 * are not supported. Traversal (`..`, absolute, NUL) is refused first.
 *
 * @throws InvalidVolumeIdError naming the problem.
 */
export function parseDirVolname(volname: string): DirVolname {
  checkVolname(volname, volname);
  const image = splitImageVolname(volname);
  if (image?.baseName !== undefined) {
    const { baseVmid, baseName, vmid, name } = image;
    parseImageName(volname, baseName);
    const { format, isBase } = parseImageName(volname, name);
    return { content: format === 'subvol' ? 'rootdir' : 'images', name, vmid: Number(vmid), baseName, baseVmid: Number(baseVmid), isBase, format };
  }
  if (image) {
    const { vmid, name } = image;
    const { format, isBase } = parseImageName(volname, name);
    return { content: format === 'subvol' ? 'rootdir' : 'images', name, vmid: Number(vmid), isBase, format };
  }
  const file = parseFileVolname(volname);
  if (file) return { content: file.content, name: file.name, vmid: file.vmid, isBase: false, format: file.format, ...(file.archive ? { archive: file.archive } : {}) };
  invalid(volname, 'unable to parse directory volume name');
}

/** The canonical volume name of an image (`<vmid>/<name>` or the linked-clone form). */
export function imageVolname(v: { vmid: number; name: string; baseVmid?: number; baseName?: string }): string {
  return v.baseName !== undefined ? `${v.baseVmid}/${v.baseName}/${v.vmid}/${v.name}` : `${v.vmid}/${v.name}`;
}

/** The contract's view of a {@link DirVolname}. */
export function toParsedVolname(volname: string, v: DirVolname): ParsedVolname {
  return {
    volname,
    content: v.content,
    vmid: v.vmid,
    name: v.name,
    format: v.format,
    isBase: v.isBase,
    baseVolname: v.baseName !== undefined ? `${v.baseVmid}/${v.baseName}` : undefined,
  };
}

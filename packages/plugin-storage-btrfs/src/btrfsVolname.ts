/**
 * Volume names of a `btrfs` storage: the names of a `dir` storage (pve-storage's
 * `parse_volname`), restricted to what BTRFSPlugin allocates and lists.
 *
 * @packageDocumentation
 */
import { checkVolname, InvalidVolumeIdError, type ParsedVolname, type StorageContent, type VolumeFormat } from '@corral/core';

/**
 * A guest volume's name without its extension: BTRFSPlugin's `list_images` takes
 * `[^/@.]+`, so names carry no `@` (snapshot separator) and no `.`; no whitespace either.
 */
export const DISK_NAME_RE = /^[A-Za-z0-9_+-]+$/;
/** `<vmid>/<name>.raw` or `<vmid>/<name>.subvol`. */
const IMAGE_RE = /^(\d+)\/([^/]+)\.(raw|subvol)$/;
/** An iso file name (`$PVE::Storage::ISO_EXT_RE_0`). */
export const ISO_FILE_RE = /^[^/]+\.(?:iso|img)$/i;
/** A container template file name (`$PVE::Storage::VZTMPL_EXT_RE_1`). */
export const VZTMPL_FILE_RE = /^[^/]+\.(?:(tar)|tar\.(gz|xz|zst|bz2))$/i;
/** A backup file name (`$PVE::Storage::BACKUP_EXT_RE_2`). */
export const BACKUP_FILE_RE = /^[^/]+\.(tgz|(?:tar|vma)(?:\.(gz|lzo|zst|bz2))?)$/;
/** A snippet file name. */
export const SNIPPET_FILE_RE = /^[^/]+$/;

/** File rules of the non-guest contents, by content. */
export const FILE_RULES: Readonly<Partial<Record<StorageContent, RegExp>>> = Object.freeze({
  iso: ISO_FILE_RE,
  vztmpl: VZTMPL_FILE_RE,
  backup: BACKUP_FILE_RE,
  snippets: SNIPPET_FILE_RE,
});

/** A decoded btrfs volume name. */
export type BtrfsVolname =
  | {
      /** A raw image (`images`) or a container subvolume (`rootdir`). */
      readonly kind: 'guest';
      readonly content: 'images' | 'rootdir';
      readonly vmid: number;
      /** Name without extension (`vm-100-disk-0`): the subvolume's directory name. */
      readonly disk: string;
      readonly format: 'raw' | 'subvol';
      readonly isBase: boolean;
    }
  | {
      /** A plain file of iso, vztmpl, backup or snippets content. */
      readonly kind: 'file';
      readonly content: StorageContent;
      readonly file: string;
      readonly vmid?: number;
      readonly format: VolumeFormat;
    };

function vztmplFormat(ext: string): VolumeFormat {
  const e = ext.toLowerCase();
  return e === 'gz' ? 'tgz' : e === 'xz' ? 'txz' : e === 'zst' ? 'tzst' : e === 'tar' ? 'tar' : 'file';
}

function backupFormat(ext: string): VolumeFormat {
  if (ext.startsWith('vma')) return 'vma';
  if (ext === 'tgz' || ext === 'tar.gz') return 'tgz';
  if (ext === 'tar') return 'tar';
  if (ext === 'tar.zst') return 'tzst';
  return 'file';
}

/**
 * Decodes a btrfs volume name:
 *
 * - `<vmid>/<name>.raw`: a raw image, stored as `images/<vmid>/<name>/disk.raw` where
 *   `<name>/` is a subvolume; `<vmid>/<name>.subvol`: a container subvolume
 *   `images/<vmid>/<name>.subvol/`. `base-` names are template bases.
 * - `iso/<file>`, `vztmpl/<file>`, `backup/<file>`, `snippets/<file>` as for `dir`.
 *
 * Refused on purpose: qcow2/vmdk images (BTRFSPlugin allocates neither), the linked-clone form
 * `<basevmid>/<basename>/<vmid>/<name>` (btrfs clones are named `<vmid>/<name>`, as
 * BTRFSPlugin's `clone_image` returns them), names with `@` or `.` (BTRFSPlugin's listing
 * skips them: `@` separates snapshots).
 *
 * @throws InvalidVolumeIdError naming the problem.
 */
export function parseBtrfsVolname(volname: string): BtrfsVolname {
  checkVolname(volname, volname);
  const m = IMAGE_RE.exec(volname);
  if (m) {
    const disk = m[2]!;
    if (!DISK_NAME_RE.test(disk)) {
      throw new InvalidVolumeIdError(volname, `btrfs volume name '${disk}' may hold letters, digits, '_', '+' and '-' only (no '@' or '.')`);
    }
    const format = m[3] as 'raw' | 'subvol';
    return { kind: 'guest', content: format === 'raw' ? 'images' : 'rootdir', vmid: Number(m[1]), disk, format, isBase: disk.startsWith('base-') };
  }
  const slash = volname.indexOf('/');
  const head = volname.slice(0, slash);
  const file = volname.slice(slash + 1);
  if (slash > 0 && !file.includes('/') && !/\s/.test(file)) {
    if (head === 'iso' && ISO_FILE_RE.test(file)) return { kind: 'file', content: 'iso', file, format: 'iso' };
    const t = head === 'vztmpl' ? VZTMPL_FILE_RE.exec(file) : null;
    if (t) return { kind: 'file', content: 'vztmpl', file, format: vztmplFormat(t[1] ?? t[2]!) };
    const b = head === 'backup' ? BACKUP_FILE_RE.exec(file) : null;
    if (b) {
      const owner = /^vzdump-(?:openvz|lxc|qemu)-(\d+)-/.exec(file);
      return { kind: 'file', content: 'backup', file, vmid: owner ? Number(owner[1]) : undefined, format: backupFormat(b[1]!) };
    }
    if (head === 'snippets') return { kind: 'file', content: 'snippets', file, format: 'file' };
  }
  throw new InvalidVolumeIdError(volname, 'not a btrfs volume name (expected <vmid>/<name>.raw, <vmid>/<name>.subvol, iso/, vztmpl/, backup/ or snippets/<file>)');
}

/** The volume name of a guest volume. */
export function guestVolname(vmid: number, disk: string, format: 'raw' | 'subvol'): string {
  return `${vmid}/${disk}.${format}`;
}

/** The contract's view of a {@link BtrfsVolname}. */
export function toParsedVolname(volname: string, v: BtrfsVolname): ParsedVolname {
  if (v.kind === 'guest') {
    return { volname, content: v.content, vmid: v.vmid, name: `${v.disk}.${v.format}`, format: v.format, isBase: v.isBase };
  }
  return { volname, content: v.content, vmid: v.vmid, name: v.file, format: v.format, isBase: false };
}

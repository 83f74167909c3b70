/**
 * Volume names of a `btrfs` storage: the names of a `dir` storage (pve-storage's
 * `parse_volname`), restricted to what BTRFSPlugin allocates and lists.
 *
 * @packageDocumentation
 */
import { checkVolname, InvalidVolumeIdError, parseFileVolname, type FileContent, type ParsedVolname, type VolumeFormat } from '@corral/core';

/**
 * A guest volume's name without its extension: BTRFSPlugin's `list_images` takes
 * `[^/@.]+`, so names carry no `@` (snapshot separator) and no `.`; no whitespace either.
 */
export const DISK_NAME_RE = /^[A-Za-z0-9_+-]+$/;
/** `<vmid>/<name>.raw` or `<vmid>/<name>.subvol`. */
const IMAGE_RE = /^(\d+)\/([^/]+)\.(raw|subvol)$/;
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
      /** A plain file of iso, vztmpl, backup, snippets or import content. */
      readonly kind: 'file';
      readonly content: FileContent;
      readonly file: string;
      readonly vmid?: number;
      readonly format: VolumeFormat;
      /** For a disk inside an OVA (`import/<archive>.ova/<disk>`): the archive's file name. */
      readonly archive?: string;
    };

/**
 * Decodes a btrfs volume name:
 *
 * - `<vmid>/<name>.raw`: a raw image, stored as `images/<vmid>/<name>/disk.raw` where
 *   `<name>/` is a subvolume; `<vmid>/<name>.subvol`: a container subvolume
 *   `images/<vmid>/<name>.subvol/`. `base-` names are template bases.
 * - `iso/<file>`, `vztmpl/<file>`, `backup/<file>`, `snippets/<file>`, `import/<file>` as for
 *   `dir` (core's `parseFileVolname`).
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
  const f = parseFileVolname(volname);
  if (f) return { kind: 'file', content: f.content, file: f.name, vmid: f.vmid, format: f.format, ...(f.archive ? { archive: f.archive } : {}) };
  throw new InvalidVolumeIdError(volname, 'not a btrfs volume name (expected <vmid>/<name>.raw, <vmid>/<name>.subvol, iso/, vztmpl/, backup/, snippets/ or import/<file>)');
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

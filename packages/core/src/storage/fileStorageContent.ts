/**
 * The files of non-guest content on file storages (`dir`, `nfs`, `cifs`, `btrfs`, `glusterfs`,
 * `cephfs`): where each content type lives under the storage's `path` (pve-storage's
 * `$vtype_subdirs`, moved by `content-dirs`), which file names are volumes of it (the
 * extension rules of `PVE::Storage`: `ISO_EXT_RE_0`, `VZTMPL_EXT_RE_1`, `BACKUP_EXT_RE_2`,
 * `IMPORT_EXT_RE_1`) and how `iso/`, `vztmpl/`, `backup/`, `snippets/` and `import/` volume
 * names decode (`PVE::Storage::Plugin::parse_volname`). Guest images are each driver's own.
 *
 * @packageDocumentation
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageContent, VolumeFormat, VolumeInfo } from '../contracts/storage.js';
import { InvalidVolumeIdError, NotSupportedError } from '../errors.js';

/**
 * Proxmox's default directory of each content type, relative to a file storage's `path`.
 * `rootdir` shares `images` (Corral's container subvols live beside the guest's images).
 */
export const FILE_CONTENT_SUBDIRS: Readonly<Record<StorageContent, string>> = Object.freeze({
  images: 'images',
  rootdir: 'images',
  iso: 'template/iso',
  vztmpl: 'template/cache',
  backup: 'dump',
  snippets: 'snippets',
  import: 'import',
});

/** Non-guest content: the content types whose volumes are plain files named `<content>/<file>`. */
export type FileContent = Exclude<StorageContent, 'images' | 'rootdir'>;

/** The content types of {@link FileContent}. */
export const FILE_CONTENT_TYPES: readonly FileContent[] = Object.freeze(['iso', 'vztmpl', 'backup', 'snippets', 'import'] as const);

/**
 * The directory of `content`, relative to the storage's `path`: its `content-dirs` override
 * (see {@link contentDirOverrides}), else {@link FILE_CONTENT_SUBDIRS}. `rootdir` follows
 * `images`, whose directory it shares.
 */
export function contentSubdir(content: StorageContent, overrides: Readonly<Partial<Record<StorageContent, string>>> = {}): string {
  const key = content === 'rootdir' ? 'images' : content;
  return overrides[key] ?? FILE_CONTENT_SUBDIRS[key];
}

/**
 * The `content-dirs` overrides (`iso=isos,backup=dumps/pve`): the directory, relative to the
 * storage's `path`, of each content type named. Types not named keep their default directory;
 * a type given twice takes the last (as Proxmox's hash). Decodes a value core has checked
 * (`..` and over-long paths are refused when storage.cfg is read); `none` and unknown types
 * are dropped.
 */
export function contentDirOverrides(value: string | undefined): Partial<Record<StorageContent, string>> {
  const out: Partial<Record<StorageContent, string>> = {};
  for (const item of (value ?? '').split(/[,;\s]+/).filter(Boolean)) {
    const eq = item.indexOf('=');
    const content = item.slice(0, eq) as StorageContent;
    if (eq <= 0 || !Object.hasOwn(FILE_CONTENT_SUBDIRS, content)) continue;
    out[content] = item.slice(eq + 1).split('/').filter(Boolean).join('/');
  }
  return out;
}

/** Paths of a file storage's content directories under `root` (its `path` or mount point). */
export class FileContentLayout {
  /**
   * @param root Absolute storage directory.
   * @param overrides The storage's `content-dirs` (see {@link contentDirOverrides}).
   */
  constructor(
    readonly root: string,
    readonly overrides: Readonly<Partial<Record<StorageContent, string>>> = {},
  ) {}

  /** Absolute directory of a content type. */
  contentDir(content: StorageContent): string {
    return join(this.root, contentSubdir(content, this.overrides));
  }

  /** The same, relative to `root` (for URLs such as `nfs://server/export/<dir>`). */
  relativeContentDir(content: StorageContent): string {
    return contentSubdir(content, this.overrides);
  }

  /**
   * Absolute path of a decoded file volume. A disk inside an OVA (`ova+vmdk`...) has none of
   * its own: its path is the archive's (`import/<name>.ova`).
   */
  filePath(v: Pick<FileVolname, 'content' | 'name' | 'archive'>): string {
    return join(this.contentDir(v.content), v.archive ?? v.name);
  }
}

/** An iso file name: `PVE::Storage::ISO_EXT_RE_0` (`.iso`/`.img`, any case). */
export const ISO_FILE_RE = /^[^/]+\.(?:iso|img)$/i;
/** A container template name: `VZTMPL_EXT_RE_1` (plain `.tar` or `.tar.{gz,xz,zst,bz2}`, any case). */
export const VZTMPL_FILE_RE = /^[^/]+\.(?:(tar)|tar\.(gz|xz|zst|bz2))$/i;
/** A backup file name: `BACKUP_EXT_RE_2` with the compressors gz, lzo, zst, bz2. */
export const BACKUP_FILE_RE = /^[^/]+\.(tgz|(?:tar|vma)(?:\.(gz|lzo|zst|bz2))?)$/;
/**
 * An import source as `parse_volname` takes it: `SAFE_CHAR_WITH_WHITESPACE_CLASS_RE` characters
 * then `IMPORT_EXT_RE_1` (`.ova`, `.ovf`, `.qcow2`, `.raw`, `.vmdk`, lower case).
 */
export const IMPORT_FILE_RE = /^[ A-Za-z0-9\-.+=_]+\.(ova|ovf|qcow2|raw|vmdk)$/;
/**
 * An import source as a listing finds it (`get_subdir_files`): {@link IMPORT_FILE_RE} without
 * white space in the name. Files with blanks can be named but are not listed, as in Proxmox.
 */
export const LISTED_IMPORT_FILE_RE = /^[A-Za-z0-9\-.+=_]+\.(ova|ovf|qcow2|raw|vmdk)$/;
/** A disk inside an OVA: `<archive>.ova/<disk>.(qcow2|raw|vmdk)` (`OVA_CONTENT_RE_1`). */
const OVA_DISK_RE = /^([ A-Za-z0-9\-.+=_]+\.ova)\/([ A-Za-z0-9\-.+=_]+\.(qcow2|raw|vmdk))$/;
/** An import file that may be uploaded: `UPLOAD_IMPORT_EXT_RE_1` (no `.ovf`: its disks would be missing). */
export const UPLOAD_IMPORT_FILE_RE = /^[A-Za-z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$/;
const BACKUP_OWNER_RE = /^vzdump-(?:openvz|lxc|qemu)-(\d+)-.+/;

/** A decoded `<content>/<file>` volume name of non-guest content. */
export interface FileVolname {
  readonly content: FileContent;
  /** The name after `<content>/` (`debian.iso`; for a disk inside an OVA, `vm.ova/disk1.vmdk`). */
  readonly name: string;
  /** For a disk inside an OVA: the archive's file name (`vm.ova`). */
  readonly archive?: string;
  /** The guest a backup belongs to (`vzdump-qemu-<vmid>-...`). */
  readonly vmid?: number;
  /** `iso`, `tar`/`tgz`/`txz`/`tzst`, `vma`, `file`, or an import's `ova`, `ovf`, `qcow2`, `raw`, `vmdk`, `ova+<fmt>`. */
  readonly format: VolumeFormat;
}

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
 * Decodes a volume name of non-guest content as `parse_volname` does: `iso/<file>.iso|img`,
 * `vztmpl/<file>.tar[.gz|.xz|.zst|.bz2]`, `backup/<file>.{vma,tar}[.gz|.lzo|.zst|.bz2]|.tgz`,
 * `snippets/<file>`, `import/<file>.ova|ovf|qcow2|raw|vmdk` and `import/<file>.ova/<disk>.qcow2|raw|vmdk`
 * (a disk inside an OVA, format `ova+<fmt>`).
 *
 * @returns `undefined` for a name of another form (a guest image, a name of another storage
 *   type), so that a driver can try its own forms.
 * @throws InvalidVolumeIdError for a name in a content directory whose file name does not fit
 *   the content (`iso/x.txt`, `import/x.exe`).
 */
export function parseFileVolname(volname: string): FileVolname | undefined {
  const slash = volname.indexOf('/');
  if (slash <= 0) return undefined;
  const head = volname.slice(0, slash);
  const file = volname.slice(slash + 1);
  if (!(FILE_CONTENT_TYPES as readonly string[]).includes(head)) return undefined;
  const bad = (what: string): never => {
    throw new InvalidVolumeIdError(volname, `unable to parse directory volume name: '${file}' is not ${what}`);
  };
  if (head === 'import') {
    const ova = OVA_DISK_RE.exec(file);
    if (ova) return { content: 'import', name: file, archive: ova[1]!, format: `ova+${ova[3]}` as VolumeFormat };
    const m = IMPORT_FILE_RE.exec(file);
    if (!m) bad('an import source (<name>.ova, .ovf, .qcow2, .raw or .vmdk, or <name>.ova/<disk>.qcow2|raw|vmdk)');
    return { content: 'import', name: file, format: m![1] as VolumeFormat };
  }
  if (file.includes('/')) bad(`a ${head} file name (no '/')`);
  switch (head) {
    case 'iso':
      if (!ISO_FILE_RE.test(file)) bad('an iso file name (.iso, .img)');
      return { content: 'iso', name: file, format: 'iso' };
    case 'vztmpl': {
      const m = VZTMPL_FILE_RE.exec(file) ?? bad('a container template name (.tar[.gz|.xz|.zst|.bz2])');
      return { content: 'vztmpl', name: file, format: vztmplFormat(m[1] ?? m[2]!) };
    }
    case 'backup': {
      const m = BACKUP_FILE_RE.exec(file) ?? bad('a backup file name (.vma[.gz|.lzo|.zst|.bz2], .tar[...] or .tgz)');
      const owner = BACKUP_OWNER_RE.exec(file);
      return { content: 'backup', name: file, format: backupFormat(m[1]!), ...(owner ? { vmid: Number(owner[1]) } : {}) };
    }
    default:
      return { content: 'snippets', name: file, format: 'file' };
  }
}

/**
 * Whether a file found in the directory of `content` is listed as a volume (pve's
 * `get_subdir_files`): a name {@link parseFileVolname} takes, not hidden, and for `import` one
 * of {@link LISTED_IMPORT_FILE_RE}. Disks inside an OVA are not listed.
 */
export function isListedFile(content: FileContent, name: string): boolean {
  if (name.startsWith('.') || name.includes('/')) return false;
  if (content === 'import') return LISTED_IMPORT_FILE_RE.test(name);
  try {
    return parseFileVolname(`${content}/${name}`) !== undefined;
  } catch {
    return false;
  }
}

/** The file names an upload of `content` may have, and how to say so (Proxmox's upload rules). */
export const UPLOAD_FILE_RULES: Readonly<Partial<Record<StorageContent, { readonly re: RegExp; readonly what: string }>>> = Object.freeze({
  iso: { re: ISO_FILE_RE, what: '.iso or .img' },
  vztmpl: { re: VZTMPL_FILE_RE, what: '.tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2' },
  backup: { re: BACKUP_FILE_RE, what: '.vma[.gz|.lzo|.zst|.bz2], .tar[.gz|.lzo|.zst|.bz2] or .tgz' },
  snippets: { re: /^[^/]+$/, what: 'any file name' },
  import: { re: UPLOAD_IMPORT_FILE_RE, what: '.ova, .qcow2, .raw or .vmdk' },
});

/**
 * Refuses `operation` on a disk inside an OVA (`import/<name>.ova/<disk>.vmdk`): Proxmox's
 * import reads such a disk out of the archive; it is a name, not a file of its own, so it
 * has no path, size or free. Does nothing for any other volume.
 *
 * @throws NotSupportedError (`operation`) naming the volume and its archive.
 */
export function refuseArchiveMember(volid: string, v: Pick<FileVolname, 'archive'>, operation: string): void {
  if (v.archive !== undefined) {
    throw new NotSupportedError(operation, `'${volid}' is a disk inside the OVA archive 'import/${v.archive}', not a file of its own: use the archive`);
  }
}

/**
 * The listing entry of a plain file volume (iso, template, backup, snippet, import source...)
 * from a `stat` of `path`: `sizeBytes` its length, `usedBytes` its allocated blocks, `ctime`
 * in seconds, not a base.
 *
 * @returns `undefined` when the file is missing (`ENOENT`, `ENOTDIR`) or is not a regular file
 *   (a listing skips it; a lookup answers `NotFoundError`).
 * @throws Any other error of `stat` (`EACCES`, `EIO`), as it is.
 */
export async function statFileVolume(
  path: string,
  entry: { readonly volid: string; readonly volname: string; readonly content: StorageContent; readonly format: VolumeFormat; readonly vmid?: number },
): Promise<VolumeInfo | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
  if (!st.isFile()) return undefined;
  return {
    volid: entry.volid,
    volname: entry.volname,
    content: entry.content,
    format: entry.format,
    sizeBytes: st.size,
    usedBytes: st.blocks * 512,
    ...(entry.vmid !== undefined ? { vmid: entry.vmid } : {}),
    isBase: false,
    ctime: Math.floor(st.ctimeMs / 1000),
  };
}

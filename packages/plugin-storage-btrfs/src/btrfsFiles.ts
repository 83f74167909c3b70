/**
 * Plain files of iso, vztmpl, backup, snippets and import content, in `dir`'s subdirectories
 * (BTRFSPlugin inherits them from the directory plugin).
 *
 * @packageDocumentation
 */
import { readdir, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AlreadyExistsError, FILE_CONTENT_TYPES, InvalidArgumentError, isListedFile, NotFoundError, refuseArchiveMember, statFileVolume, UPLOAD_FILE_RULES, writeNewFile, type FileContent, type StorageContent, type VolumeAccess, type VolumeInfo } from '@corral/core';
import { volidOf, type BtrfsContext } from './BtrfsContext.js';
import { isMissing, mapNoSpace } from './btrfsErrors.js';
import { parseBtrfsVolname, type BtrfsVolname } from './btrfsVolname.js';

type FileVolume = Extract<BtrfsVolname, { kind: 'file' }>;

function fileVolume(volname: string): FileVolume {
  const v = parseBtrfsVolname(volname);
  if (v.kind !== 'file') throw new InvalidArgumentError('volume', `'${volname}' is a guest volume, not a file`);
  return v;
}

function pathOf(bc: BtrfsContext, v: FileVolume): string {
  return bc.layout.filePath({ content: v.content, name: v.file, archive: v.archive });
}

/** The listing entry of a file volume, or undefined when it is missing or not a file. */
async function describeFile(bc: BtrfsContext, volname: string, v: FileVolume): Promise<VolumeInfo | undefined> {
  return statFileVolume(pathOf(bc, v), { volid: volidOf(bc, volname), volname, content: v.content, format: v.format, vmid: v.vmid });
}

/** Size and kind of a file volume. @throws NotFoundError */
export async function fileVolumeInfo(bc: BtrfsContext, volname: string): Promise<VolumeInfo> {
  const v = fileVolume(volname);
  refuseArchiveMember(volidOf(bc, volname), v, 'volume info');
  const info = await describeFile(bc, volname, v);
  if (!info) throw new NotFoundError('volume', volidOf(bc, volname));
  return info;
}

/**
 * Files of one content (pve's `get_subdir_files`); with a guest id only backups whose name
 * carries `-<vmid>-`.
 */
export async function listFiles(bc: BtrfsContext, content: StorageContent, vmid?: number): Promise<VolumeInfo[]> {
  if (!FILE_CONTENT_TYPES.includes(content as FileContent)) return [];
  const names = await readdir(bc.layout.contentDir(content)).catch((err: unknown) => {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [] as string[];
    throw err;
  });
  const out: VolumeInfo[] = [];
  for (const name of names) {
    if (!isListedFile(content as FileContent, name)) continue;
    if (content === 'backup' && vmid !== undefined && !name.includes(`-${vmid}-`)) continue;
    const volname = `${content}/${name}`;
    let v: BtrfsVolname;
    try {
      v = parseBtrfsVolname(volname);
    } catch {
      continue;
    }
    if (v.kind !== 'file') continue;
    const info = await describeFile(bc, volname, v);
    if (info) out.push(info);
  }
  return out;
}

/** Removes a file volume. @throws NotFoundError */
export async function freeFile(bc: BtrfsContext, volname: string): Promise<void> {
  const v = fileVolume(volname);
  refuseArchiveMember(volidOf(bc, volname), v, 'free');
  try {
    await unlink(pathOf(bc, v));
  } catch (err) {
    if (isMissing(err)) throw new NotFoundError('volume', volidOf(bc, volname));
    throw err;
  }
}

/** The file of a file volume. @throws NotFoundError */
export async function resolveFile(bc: BtrfsContext, volname: string): Promise<VolumeAccess> {
  const v = fileVolume(volname);
  refuseArchiveMember(volidOf(bc, volname), v, 'resolve');
  const info = await describeFile(bc, volname, v);
  if (!info) throw new NotFoundError('volume', volidOf(bc, volname));
  return { kind: 'file', path: pathOf(bc, v), format: v.format };
}

/**
 * Stores `stream` as `<content dir>/<filename>` through core's `writeNewFile` (a hidden
 * temporary file hard-linked into place: a reader never sees half a file; an existing file is
 * never replaced). Returns the volname.
 *
 * @throws InvalidArgumentError (content, file name), AlreadyExistsError, StorageFullError.
 */
export async function uploadFile(bc: BtrfsContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
  const rule = UPLOAD_FILE_RULES[options.content];
  if (!rule) throw new InvalidArgumentError('content', `btrfs storage takes uploads of iso, vztmpl, backup, snippets and import, not '${options.content}'`);
  if (options.filename.includes('/') || options.filename.startsWith('.') || !rule.re.test(options.filename)) {
    throw new InvalidArgumentError('filename', `'${options.filename}' is not a valid ${options.content} file name`);
  }
  const volname = `${options.content}/${options.filename}`;
  parseBtrfsVolname(volname);
  try {
    await writeNewFile(bc.layout.contentDir(options.content), options.filename, options.stream, { signal: bc.signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('volume', volidOf(bc, volname));
    throw await mapNoSpace(err, bc.sid, bc.layout.root);
  }
  return volname;
}

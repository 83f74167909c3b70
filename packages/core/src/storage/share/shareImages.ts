/**
 * Image lifecycle on the mount of a mounted-share storage (nfs, cifs, glusterfs): allocate, volume info, resize, free, all
 * with `qemu-img` (argv through the runner) or fs calls, each undoing its own partial work.
 *
 * @packageDocumentation
 */
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError } from '../../errors.js';
import { refuseArchiveMember } from '../fileStorageContent.js';
import { withReverter, type Reverter } from '../../util/Reverter.js';
import type { AllocateOptions, VolumeInfo } from '../../contracts/storage.js';
import { volidOf, type ShareContext } from './ShareContext.js';
import { mapShareError } from './shareErrors.js';
import { fileVolumeInfo, imageVolumeInfo, listImages } from './shareListing.js';
import { backingBase, imageFileFacts } from './imageFileFacts.js';
import { parseShareVolname, type ShareVolname } from './shareVolname.js';

/** `qemu-img create`/`resize` run at most this long, ms. */
export const QEMU_IMG_TIMEOUT_MS = 120_000;

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$/;

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false
  );
}

/** The `-o preallocation=...` argument of `qemu-img create` (pve's `preallocation_cmd_option`). */
export function preallocationArgs(format: string, option: string | undefined): string[] {
  if (format === 'qcow2') return ['-o', `preallocation=${option ?? 'metadata'}`];
  if (format === 'raw') return ['-o', `preallocation=${!option || option === 'metadata' ? 'off' : option}`];
  return [];
}

/** The file name of a new image: `<name>.<format>` (an extension matching the format is kept). */
export function shareImageFileName(name: string, format: string): string {
  if (!NAME_RE.test(name) || name.startsWith('base-')) {
    throw new InvalidArgumentError('name', `invalid volume name '${name}': letters, digits, '_', '.', '+', '-' (not first), at most 200, no base- prefix`);
  }
  if (format !== 'raw' && format !== 'qcow2') throw new InvalidArgumentError('format', `a share storage holds raw and qcow2 images, not '${format}'`);
  const ext = /\.(raw|qcow2|vmdk|subvol)$/.exec(name);
  if (ext && ext[1] !== format) throw new InvalidArgumentError('name', `illegal name '${name}': wrong extension for format ('${ext[1]}' != '${format}')`);
  return ext ? name : `${name}.${format}`;
}

/** Removes `images/<vmid>` when it became empty (as pve's `free_image`). */
export async function removeEmptyGuestDir(nc: ShareContext, vmid: number): Promise<void> {
  await rmdir(nc.layout.guestDir(vmid)).catch(() => undefined);
}

/**
 * Makes room for new image `<vmid>/<file>` inside a reverter: creates `images/<vmid>/` (removed
 * again on undo when left empty), refuses a taken name, and registers the file's removal on
 * undo. Returns the volname and the file's path.
 *
 * @throws AlreadyExistsError.
 */
export async function claimNewImage(nc: ShareContext, revert: Reverter, vmid: number, file: string): Promise<{ volname: string; path: string }> {
  const volname = `${vmid}/${file}`;
  const path = nc.layout.pathOf({ content: 'images', vmid, name: file });
  await mkdir(nc.layout.guestDir(vmid), { recursive: true });
  revert.add(() => removeEmptyGuestDir(nc, vmid), 'remove guest dir');
  if (await exists(path)) throw new AlreadyExistsError('volume', volidOf(nc, volname));
  revert.add(() => rm(path, { force: true }), 'remove image');
  return { volname, path };
}

/**
 * Creates an image file (`qemu-img create -f raw|qcow2`) under `images/<vmid>/`; returns the
 * volname (`<vmid>/<file>`).
 *
 * @throws AlreadyExistsError, StorageFullError, InvalidArgumentError (content, name, format).
 */
export async function allocateShareImage(nc: ShareContext, options: AllocateOptions): Promise<string> {
  if (options.content !== 'images') throw new InvalidArgumentError('content', `a share storage allocates images, not '${options.content}'`);
  const file = shareImageFileName(options.name, options.format);
  return withReverter(async (revert) => {
    const { volname, path } = await claimNewImage(nc, revert, options.vmid, file);
    try {
      await nc.runner.run(
        ['qemu-img', 'create', ...preallocationArgs(options.format, nc.options.preallocation), '-f', options.format, path, String(options.sizeBytes)],
        {
          timeoutMs: QEMU_IMG_TIMEOUT_MS,
          signal: nc.signal,
        }
      );
    } catch (err) {
      throw await mapShareError(err, {
        storage: nc.sid,
        path: nc.options.path,
        requestedBytes: options.sizeBytes,
      });
    }
    return volname;
  });
}

/** Decodes an image volname and checks its file exists. @throws NotFoundError, InvalidArgumentError (not an image). */
export async function existingImage(nc: ShareContext, volname: string): Promise<ShareVolname> {
  const v = parseShareVolname(volname);
  if (v.content !== 'images') throw new InvalidArgumentError('volname', `'${volname}' is not an image`);
  if (!(await exists(nc.layout.pathOf(v)))) throw new NotFoundError('volume', volidOf(nc, volname));
  return v;
}

/** Size, format and parent of one volume (an image or a file of other content). @throws NotFoundError. */
export async function shareVolumeInfo(nc: ShareContext, volname: string): Promise<VolumeInfo> {
  const v = parseShareVolname(volname);
  refuseArchiveMember(volidOf(nc, volname), v, 'volume info');
  try {
    if (v.content === 'images') return await imageVolumeInfo(nc, v);
    return await fileVolumeInfo(nc, volname, v);
  } catch (err) {
    throw await mapShareError(err, {
      storage: nc.sid,
      path: nc.options.path,
      volid: volidOf(nc, volname),
    });
  }
}

/** Linked clones (on this storage) whose backing file is the base `v`. */
export async function clonesOf(nc: ShareContext, v: ShareVolname): Promise<string[]> {
  const out: string[] = [];
  for (const img of await listImages(nc)) {
    if (img.format !== 'qcow2' || img.isBase) continue;
    const facts = await imageFileFacts(nc, nc.layout.pathOf(img), 'qcow2').catch(() => undefined);
    const base = backingBase(facts?.backingFile);
    if (base && base.vmid === v.vmid && base.name === v.name) out.push(`${img.vmid}/${img.name}`);
  }
  return out;
}

/**
 * Deletes a volume's file (images, iso, templates, backups, snippets, import sources); removes an empty
 * `images/<vmid>`.
 *
 * @throws NotFoundError; ConflictError for a base that still has linked clones.
 */
export async function freeShareVolume(nc: ShareContext, volname: string): Promise<void> {
  const v = parseShareVolname(volname);
  refuseArchiveMember(volidOf(nc, volname), v, 'free');
  const path = nc.layout.pathOf(v);
  if (!(await exists(path))) throw new NotFoundError('volume', volidOf(nc, volname));
  if (v.isBase) {
    const clones = await clonesOf(nc, v);
    if (clones.length > 0) throw new ConflictError(`volume '${volidOf(nc, volname)}' is a base with linked clones (${clones.join(', ')}); free them first`);
  }
  await rm(path);
  if (v.content === 'images') await removeEmptyGuestDir(nc, v.vmid!);
}

/** Sets an image's virtual size (`qemu-img resize [--shrink]`), bytes. @throws NotFoundError, StorageFullError. */
export async function resizeShareImage(nc: ShareContext, volname: string, sizeBytes: number): Promise<void> {
  const v = await existingImage(nc, volname);
  const path = nc.layout.pathOf(v);
  try {
    await nc.runner.run(['qemu-img', 'resize', '--shrink', '-f', v.format, path, String(sizeBytes)], { timeoutMs: QEMU_IMG_TIMEOUT_MS, signal: nc.signal });
  } catch (err) {
    throw await mapShareError(err, {
      storage: nc.sid,
      path: nc.options.path,
      requestedBytes: sizeBytes,
      volid: volidOf(nc, volname),
    });
  }
}

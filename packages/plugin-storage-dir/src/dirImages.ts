/**
 * Image and subvol lifecycle of a dir storage: allocate, volume info, resolve, resize, free,
 * templates (`createBase`) and linked clones, all through `qemu-img` (argv via the runner)
 * or fs calls, each undoing its own partial work.
 *
 * @packageDocumentation
 */
import { chmod, mkdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import {
  AlreadyExistsError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
  refuseArchiveMember,
  statFileVolume,
  withReverter,
  type AllocateOptions,
  type VolumeAccess,
  type VolumeInfo,
} from '@corral/core';
import { volidOf, type DirContext } from './DirContext.js';
import { imageVolumeInfo, listImages } from './dirListing.js';
import { imageVolname, parseDirVolname, type DirVolname } from './dirVolname.js';
import { imageFileInfo } from './imageFileInfo.js';
import { imageFileName } from './imageFileName.js';
import { mapStorageError } from './storageErrors.js';

/** `qemu-img create` runs at most this long, ms. */
const QEMU_IMG_TIMEOUT_MS = 120_000;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Removes `images/<vmid>` when it became empty (pve's `free_image` does the same). */
async function removeEmptyGuestDir(dc: DirContext, vmid: number): Promise<void> {
  await rmdir(dc.layout.guestDir(vmid)).catch(() => undefined);
}

/** The `-o preallocation=...` argument for `qemu-img create` (pve's `preallocation_cmd_option`). */
export function preallocationArgs(format: string, option: string | undefined): string[] {
  if (format === 'qcow2') return ['-o', `preallocation=${option ?? 'metadata'}`];
  if (format === 'raw') return ['-o', `preallocation=${!option || option === 'metadata' ? 'off' : option}`];
  return [];
}

/**
 * Creates an image file (`qemu-img create`) or a subvol directory (mode 0755; a non-zero
 * size is kept as its quota) under `images/<vmid>/`. Returns the volname.
 *
 * @throws AlreadyExistsError, StorageFullError, InvalidArgumentError (name, content).
 */
export async function allocateImage(dc: DirContext, options: AllocateOptions): Promise<string> {
  if (options.content !== 'images' && options.content !== 'rootdir') {
    throw new InvalidArgumentError('content', `dir storage allocates images and rootdir volumes, not '${options.content}'`);
  }
  const file = imageFileName(options.name, options.format);
  const volname = `${options.vmid}/${file}`;
  const dir = dc.layout.guestDir(options.vmid);
  const path = `${dir}/${file}`;
  return withReverter(async (revert) => {
    await mkdir(dir, { recursive: true });
    revert.add(() => removeEmptyGuestDir(dc, options.vmid), 'remove guest dir');
    if (await exists(path)) throw new AlreadyExistsError('volume', volidOf(dc, volname));
    try {
      if (options.format === 'subvol') {
        await mkdir(path, { mode: 0o755 });
        revert.add(() => rm(path, { recursive: true, force: true }), 'remove subvol');
        if (options.sizeBytes > 0) {
          await writeFile(dc.layout.quotaPath(options.vmid, file), `${options.sizeBytes}\n`);
          revert.add(() => rm(dc.layout.quotaPath(options.vmid, file), { force: true }), 'remove quota');
        }
      } else {
        revert.add(() => rm(path, { force: true }), 'remove image');
        await dc.runner.run(
          ['qemu-img', 'create', ...preallocationArgs(options.format, dc.options.preallocation), '-f', options.format, path, String(options.sizeBytes)],
          { timeoutMs: QEMU_IMG_TIMEOUT_MS, signal: dc.signal },
        );
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError('volume', volidOf(dc, volname));
      throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, requestedBytes: options.sizeBytes });
    }
    return volname;
  }, { log: dc.log });
}

/** Decodes and checks that a volname is an image or subvol. */
export function parseImage(dc: DirContext, volname: string, operation: string): DirVolname & { vmid: number } {
  const v = parseDirVolname(volname);
  if ((v.content !== 'images' && v.content !== 'rootdir') || v.vmid === undefined) {
    throw new NotSupportedError(operation, `${operation} works on images, not on ${v.content} file '${volidOf(dc, volname)}'`);
  }
  return v as DirVolname & { vmid: number };
}

/** Size, format and parent of a volume; NotFoundError when its file is missing; NotSupportedError for a disk inside an OVA. */
export async function dirVolumeInfo(dc: DirContext, volname: string): Promise<VolumeInfo> {
  const v = parseDirVolname(volname);
  refuseArchiveMember(volidOf(dc, volname), v, 'volume info');
  const path = dc.layout.pathOf(v);
  try {
    if (v.content === 'images' || v.content === 'rootdir') {
      const info = await imageFileInfo(dc.runner, path, v.format, {
        quotaPath: v.format === 'subvol' ? dc.layout.quotaPath(v.vmid!, v.name) : undefined,
        signal: dc.signal,
        headerCache: dc.headerCache,
      });
      return imageVolumeInfo(dc, v.vmid!, v.name, info);
    }
    const info = await statFileVolume(path, { volid: volidOf(dc, volname), volname, content: v.content, format: v.format, vmid: v.vmid });
    if (!info) throw new NotFoundError('volume', volidOf(dc, volname));
    return info;
  } catch (err) {
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, volid: volidOf(dc, volname) });
  }
}

/**
 * The file (image, iso, import source...) or directory (subvol) of a volume. A qcow2 snapshot cannot be
 * expressed as a path: asking for one is NotSupportedError (export and copy read snapshots).
 */
export async function resolveDirVolume(dc: DirContext, volname: string, snapshot: string | undefined): Promise<VolumeAccess> {
  const v = parseDirVolname(volname);
  refuseArchiveMember(volidOf(dc, volname), v, 'resolve');
  if (snapshot !== undefined) {
    throw new NotSupportedError('resolve snapshot', `dir storage cannot give a path to snapshot '${snapshot}' of '${volidOf(dc, volname)}' (internal qcow2 snapshots live inside the file)`);
  }
  const path = dc.layout.pathOf(v);
  const st = await stat(path).catch(async (err: unknown) => {
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, volid: volidOf(dc, volname) });
  });
  if (v.format === 'subvol') {
    if (!st.isDirectory()) throw new NotFoundError('volume', volidOf(dc, volname), `subvol '${volidOf(dc, volname)}' is not a directory`);
    return { kind: 'directory', path };
  }
  return { kind: 'file', path, format: v.format };
}

/** `qemu-img resize` (with `--shrink` when smaller). Raw and qcow2 only. */
export async function resizeImage(dc: DirContext, volname: string, sizeBytes: number): Promise<void> {
  const v = parseImage(dc, volname, 'resize');
  if (v.format !== 'raw' && v.format !== 'qcow2') throw new NotSupportedError('resize', `dir storage cannot resize ${v.format} volumes`);
  const info = await dirVolumeInfo(dc, volname);
  const argv = ['qemu-img', 'resize', '-f', v.format, ...(sizeBytes < info.sizeBytes ? ['--shrink'] : []), dc.layout.pathOf(v), String(sizeBytes)];
  try {
    await dc.runner.run(argv, { timeoutMs: QEMU_IMG_TIMEOUT_MS, signal: dc.signal });
  } catch (err) {
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, requestedBytes: sizeBytes - info.sizeBytes });
  }
}

/** Linked clones of a base (`<basevmid>/<basename>/<vmid>/<name>` volnames) anywhere on the storage. */
export async function clonesOf(dc: DirContext, base: DirVolname & { vmid: number }): Promise<string[]> {
  const prefix = `${base.vmid}/${base.name}/`;
  return (await listImages(dc, {})).filter((v) => v.volname.startsWith(prefix)).map((v) => v.volid);
}

/**
 * Deletes an image (or a subvol tree and its quota file), then the guest directory when empty.
 *
 * @throws NotFoundError, ConflictError when a base still has linked clones.
 */
export async function freeImage(dc: DirContext, volname: string): Promise<void> {
  const v = parseDirVolname(volname);
  refuseArchiveMember(volidOf(dc, volname), v, 'free');
  const path = dc.layout.pathOf(v);
  const volid = volidOf(dc, volname);
  const st = await stat(path).catch(async (err: unknown) => {
    throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root, volid });
  });
  if (v.isBase && v.vmid !== undefined) {
    const clones = await clonesOf(dc, v as DirVolname & { vmid: number });
    if (clones.length > 0) throw new ConflictError(`base volume '${volid}' is still in use by linked clones: ${clones.join(', ')}`);
  }
  if (v.format === 'subvol') {
    if (!st.isDirectory()) throw new NotFoundError('volume', volid, `subvol '${volid}' is not a directory`);
    await rm(path, { recursive: true, force: true });
    await rm(dc.layout.quotaPath(v.vmid!, v.name), { force: true });
  } else {
    await unlink(path);
  }
  if (v.vmid !== undefined && (v.content === 'images' || v.content === 'rootdir')) await removeEmptyGuestDir(dc, v.vmid);
}

/**
 * Turns an image into a template base as pve's `create_base`: renames `vm-…` to `base-…`
 * (other names get a `base-` prefix), keeping a linked clone's base in the volname, and makes
 * the file read-only (0444). Returns the new volname.
 *
 * @throws NotSupportedError for subvols, AlreadyExistsError when the base name is taken.
 */
export async function createBaseImage(dc: DirContext, volname: string): Promise<string> {
  const v = parseImage(dc, volname, 'template');
  if (v.isBase) return volname;
  if (v.format === 'subvol') throw new NotSupportedError('template', 'dir storage does not make subvol templates');
  const info = await dirVolumeInfo(dc, volname);
  if (v.baseName !== undefined && info.parent !== volidOf(dc, `${v.baseVmid}/${v.baseName}`)) {
    throw new InvalidArgumentError('volume', `volname '${volname}' contains wrong information about its parent (${info.parent ?? 'none'})`);
  }
  const newName = v.name.startsWith('vm-') ? `base-${v.name.slice(3)}` : `base-${v.name}`;
  const newVolname = imageVolname({ ...v, name: newName });
  const from = dc.layout.pathOf(v);
  const to = dc.layout.pathOf({ ...v, name: newName, isBase: true });
  if (await exists(to)) throw new AlreadyExistsError('volume', volidOf(dc, newVolname));
  await rename(from, to);
  await chmod(to, 0o444);
  return newVolname;
}

/**
 * Linked clone of a base: `qemu-img create -f qcow2 -b ../<basevmid>/<basename> -F <fmt>`,
 * run in `images/<vmid>/` with a relative backing path as pve's `clone_image` (the clone keeps
 * working when the storage moves). Returns `<basevmid>/<basename>/<vmid>/<name>.qcow2`.
 *
 * @throws NotSupportedError (snapshot, subvol, not a base), AlreadyExistsError.
 */
export async function cloneLinkedImage(dc: DirContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
  const v = parseImage(dc, volname, 'linked clone');
  if (options.snapshot !== undefined) throw new NotSupportedError('linked clone', 'dir storage cannot clone a snapshot (make a template first)');
  if (v.format === 'subvol') throw new NotSupportedError('linked clone', 'dir storage cannot clone subvols');
  if (!v.isBase) throw new NotSupportedError('linked clone', `linked clones need a base volume, '${volidOf(dc, volname)}' is not one`);
  await dirVolumeInfo(dc, volname);
  const file = imageFileName(options.name, 'qcow2');
  const newVolname = `${v.vmid}/${v.name}/${options.vmid}/${file}`;
  const dir = dc.layout.guestDir(options.vmid);
  const path = `${dir}/${file}`;
  return withReverter(async (revert) => {
    await mkdir(dir, { recursive: true });
    revert.add(() => removeEmptyGuestDir(dc, options.vmid), 'remove guest dir');
    if (await exists(path)) throw new AlreadyExistsError('volume', volidOf(dc, newVolname));
    revert.add(() => rm(path, { force: true }), 'remove clone');
    try {
      await dc.runner.run(['qemu-img', 'create', '-f', 'qcow2', '-b', `../${v.vmid}/${v.name}`, '-F', v.format, path], {
        cwd: dir,
        timeoutMs: QEMU_IMG_TIMEOUT_MS,
        signal: dc.signal,
      });
    } catch (err) {
      throw await mapStorageError(err, { storage: dc.sid, path: dc.layout.root });
    }
    return newVolname;
  }, { log: dc.log });
}

import type { Stats } from 'node:fs';
import { mkdir, open, readdir, rm, rmdir, stat, statfs, truncate, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import {
  AlreadyExistsError,
  BaseStorageDriver,
  checkHostPath,
  InvalidConfigError,
  NotFoundError,
  NotSupportedError,
  StorageFullError,
  UnavailableError,
  withReverter,
  type AllocateOptions,
  type ParsedVolname,
  type StorageContent,
  type StorageContext,
  type StorageDriverInfo,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFormat,
  type VolumeInfo,
} from '@corral/core';
import { FLAT_STORAGE_INFO } from './flatStorageInfo.js';
import { flatVolname, matchFlatVolname, parseFlatVolname } from './flatVolname.js';
import { exportRawSize, importRawSize } from './rawSizeStream.js';

/**
 * Storage type `flatdir`: sparse raw image files in a flat directory,
 * `<path>/<vmid>/vm-<vmid>-disk-<n>.raw`. Everything is done with Node's fs; no external
 * program runs (a driver that needs one uses `ctx.runner.run([...argv])`, never a shell).
 *
 * What a driver does NOT do: take locks, pick disk names, check capabilities or volume ids
 * for traversal, keep volume attributes. `kernel.storage` does all that before calling here.
 * A driver talks to its backend and undoes its own partial work. Snapshots, templates, linked
 * clones and file uploads are left to {@link BaseStorageDriver}, which answers
 * `NotSupportedError`; the capability record ({@link FLAT_STORAGE_INFO}) says so up front.
 *
 * Sizes are bytes. Errors: `NotFoundError` (kind `volume`) for a missing volume,
 * `AlreadyExistsError` for a taken name, `StorageFullError` when the filesystem is full.
 */
export class FlatStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = FLAT_STORAGE_INFO;

  /** See {@link parseFlatVolname}. */
  parseVolname(ctx: StorageContext, volname: string): ParsedVolname {
    return parseFlatVolname(ctx.storage.id, volname);
  }

  /** Runs before a definition is saved (after the options schema): `path` may not be a file. */
  async checkDefinition(ctx: StorageContext): Promise<void> {
    const path = checkHostPath('path', rootOf(ctx));
    const st = await stat(path).catch(() => undefined);
    if (st && !st.isDirectory()) {
      throw new InvalidConfigError('path', path, `storage '${ctx.storage.id}': path '${path}' exists and is not a directory`);
    }
  }

  /** Creates `path` when missing. Idempotent. */
  async activate(ctx: StorageContext): Promise<void> {
    try {
      await mkdir(rootOf(ctx), { recursive: true });
    } catch (cause) {
      throw new UnavailableError(`storage:${ctx.storage.id}`, `storage '${ctx.storage.id}': cannot create '${rootOf(ctx)}'`, { cause });
    }
  }

  /** Usage of the filesystem holding `path`; inactive (not an error) while `path` is missing or unreachable. */
  async status(ctx: StorageContext): Promise<StorageStatus> {
    try {
      const s = await statfs(rootOf(ctx));
      const total = s.blocks * s.bsize;
      return { active: true, totalBytes: total, usedBytes: total - s.bfree * s.bsize, availableBytes: s.bavail * s.bsize };
    } catch {
      return { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
    }
  }

  /** Every `<vmid>/vm-<vmid>-disk-<n>.raw` file (other files are ignored), sorted by volname. */
  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    if (filter.content !== undefined && filter.content !== 'images') return [];
    const root = rootOf(ctx);
    const dirs = filter.vmid !== undefined ? [String(filter.vmid)] : await readdir(root).catch(() => []);
    const out: VolumeInfo[] = [];
    for (const dir of dirs) {
      for (const file of await readdir(join(root, dir)).catch(() => [])) {
        const parsed = matchFlatVolname(`${dir}/${file}`);
        // Skips foreign files, and volumes freed while we list.
        const st = parsed && (await stat(join(root, parsed.volname)).catch(() => undefined));
        if (parsed && st?.isFile()) out.push(infoOf(ctx, parsed, st));
      }
    }
    return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    const parsed = this.parseVolname(ctx, volname);
    return infoOf(ctx, parsed, await this.#stat(ctx, volname));
  }

  /** A sparse file of `sizeBytes`. The facade has checked format, content and size, and picked the name. */
  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    const volname = flatVolname(options.vmid, options.name);
    await this.#create(ctx, volname, async (fh) => {
      await fh.truncate(options.sizeBytes);
    });
    return volname;
  }

  /** Removes the file, and the guest directory when it is left empty. */
  async free(ctx: StorageContext, volname: string): Promise<void> {
    this.parseVolname(ctx, volname);
    try {
      await rm(join(rootOf(ctx), volname));
    } catch (err) {
      throw mapFsError(ctx, err, volname);
    }
    await rmdir(dirname(join(rootOf(ctx), volname))).catch(() => undefined); // only when empty
  }

  /** Grows the file (the new space reads zeros). Shrinking is not in the record, so the facade refuses it first. */
  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    this.parseVolname(ctx, volname);
    const st = await this.#stat(ctx, volname);
    if (options.sizeBytes < st.size) throw new NotSupportedError('shrink', `flatdir volumes only grow (${volname} has ${st.size} bytes)`);
    try {
      await truncate(join(rootOf(ctx), volname), options.sizeBytes);
    } catch (err) {
      throw mapFsError(ctx, err, volname, options.sizeBytes - st.size);
    }
  }

  /** The image file itself, for every consumer (QEMU opens it as `raw`). */
  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    this.parseVolname(ctx, volname);
    if (options.snapshot !== undefined) throw new NotSupportedError('snapshot', 'flatdir volumes have no snapshots');
    await this.#stat(ctx, volname);
    return { kind: 'file', path: join(rootOf(ctx), volname), format: 'raw' };
  }

  /** Streams the volume as `raw+size` and ends `stream`. */
  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    if (options.format !== 'raw+size' || options.snapshot !== undefined) {
      throw new NotSupportedError('export', `flatdir exports the current state as raw+size only, not '${options.format}'${options.snapshot ? ' of a snapshot' : ''}`);
    }
    const { sizeBytes } = await this.volumeInfo(ctx, volname);
    await exportRawSize(join(rootOf(ctx), volname), sizeBytes, options.stream, ctx.signal);
  }

  /** Creates volume `<vmid>/<name>.raw` from a `raw+size` stream, sparse. A failed import leaves nothing behind. */
  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    if (options.format !== 'raw+size' || options.volumeFormat !== 'raw' || options.content !== 'images') {
      throw new NotSupportedError('import', `flatdir imports raw+size into raw images, not '${options.format}' into ${options.volumeFormat} ${options.content}`);
    }
    const volname = flatVolname(options.vmid, options.name);
    await this.#create(ctx, volname, (fh) => importRawSize(options.stream, fh, ctx.signal));
    return volname;
  }

  /**
   * Creates `volname`'s file exclusively and lets `fill` write it. On any failure the file
   * (and the guest directory, when this left it empty) is removed again: undo as you go.
   */
  async #create(ctx: StorageContext, volname: string, fill: (fh: FileHandle) => Promise<unknown>): Promise<void> {
    const path = join(rootOf(ctx), volname);
    try {
      await withReverter(async (revert) => {
        await mkdir(dirname(path), { recursive: true });
        revert.add(() => rmdir(dirname(path)).catch(() => undefined), 'remove empty guest directory');
        const fh = await open(path, 'wx'); // fails with EEXIST for a taken name
        revert.add(() => rm(path, { force: true }), 'remove partial image');
        try {
          await fill(fh);
        } finally {
          await fh.close();
        }
      }, { log: ctx.log });
    } catch (err) {
      throw mapFsError(ctx, err, volname);
    }
  }

  async #stat(ctx: StorageContext, volname: string): Promise<Stats> {
    try {
      return await stat(join(rootOf(ctx), volname));
    } catch (err) {
      throw mapFsError(ctx, err, volname);
    }
  }
}

/** The storage's directory (`path` is required and absolute: the options schema saw to it). */
function rootOf(ctx: StorageContext): string {
  return ctx.storage.options.path!;
}

function infoOf(ctx: StorageContext, parsed: ParsedVolname, st: Stats): VolumeInfo {
  return {
    volid: `${ctx.storage.id}:${parsed.volname}`,
    volname: parsed.volname,
    content: 'images',
    format: 'raw',
    sizeBytes: st.size,
    usedBytes: st.blocks * 512, // allocated bytes: less than the size while the file is sparse
    vmid: parsed.vmid,
    isBase: false,
    ctime: Math.floor(st.ctimeMs / 1000),
  };
}

/** Turns Node's fs errors into Corral's coded errors; anything else is returned as it is. */
function mapFsError(ctx: StorageContext, err: unknown, volname: string, requestedBytes = 0): unknown {
  const volid = `${ctx.storage.id}:${volname}`;
  if (isOutOfSpace(err)) return new StorageFullError(ctx.storage.id, requestedBytes, 0, { cause: err });
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return new NotFoundError('volume', volid, undefined, { cause: err });
    case 'EEXIST':
      return new AlreadyExistsError('volume', volid, undefined, { cause: err });
    default:
      return err;
  }
}

/**
 * True for "no space left" (ENOSPC) and "disk quota exceeded" (EDQUOT). libuv has no name for
 * EDQUOT, so on Linux Node reports it with `code: 'Unknown system error -122'` and
 * `errno: -122` (seen on a btrfs qgroup limit, Node 20): match the errno number
 * (`os.constants.errno.EDQUOT`, negated as libuv reports it), not only the name.
 */
function isOutOfSpace(err: unknown): boolean {
  const { code, errno } = err as NodeJS.ErrnoException;
  const edquot = osConstants.errno.EDQUOT;
  return code === 'ENOSPC' || code === 'EDQUOT' || (edquot !== undefined && errno === -edquot);
}

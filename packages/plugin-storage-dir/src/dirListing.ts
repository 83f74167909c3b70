import { readdir, stat } from 'node:fs/promises';
import { FILE_CONTENT_TYPES, isListedFile, statFileVolume, type FileContent, type StorageContent, type VolumeInfo } from '@corral/core';
import type { DirContext } from './DirContext.js';
import { IMAGE_NAME_RE, parseDirVolname } from './dirVolname.js';
import { headerSettleMs } from './ImageHeaderCache.js';
import { imageFileInfo, type ImageFileInfo } from './imageFileInfo.js';
import { isMissing } from './storageErrors.js';

/** Images are inspected this many at a time. */
const CONCURRENCY = 32;

const GUEST_DIR = /^[0-9][0-9]*$/;
/** pve's `list_images`: a backing file `../<vmid>/<name>.<fmt>` makes the volume a linked clone. */
const BACKING_RE = /^\.\.\/(\d+)\/([^/]+\.(raw|qcow2|vmdk|subvol))$/;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Runs at most `n` of the functions given to it at a time, in the order given. */
function limiter(n: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: Array<() => void> = [];
  // A finishing function hands its slot to the next waiting one.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

/** The volume entry of an image file owned by `owner`, given its file facts. */
export function imageVolumeInfo(dc: DirContext, owner: number, name: string, info: ImageFileInfo): VolumeInfo {
  const m = IMAGE_NAME_RE.exec(name)!;
  const format = m[3] as VolumeInfo['format'];
  const linked = info.backingFile ? BACKING_RE.exec(info.backingFile) : null;
  const volname = linked ? `${linked[1]}/${linked[2]}/${owner}/${name}` : `${owner}/${name}`;
  return {
    volid: `${dc.sid}:${volname}`,
    volname,
    content: format === 'subvol' ? 'rootdir' : 'images',
    format,
    sizeBytes: info.sizeBytes,
    usedBytes: info.usedBytes,
    vmid: owner,
    isBase: m[2] !== undefined,
    parent: linked ? `${dc.sid}:${linked[1]}/${linked[2]}` : undefined,
    ctime: info.ctime,
  };
}

/**
 * Images and subvols under `images/<vmid>/` (pve's `list_images`), optionally of one guest
 * and one content (`images`: files, `rootdir`: subvol directories). Files that vanish while
 * listing are skipped; an image whose header cannot be read is listed with its file size (a
 * warning), so that it is never an invisible orphan.
 */
export async function listImages(dc: DirContext, filter: { vmid?: number; content?: 'images' | 'rootdir' }): Promise<VolumeInfo[]> {
  // Started now, awaited once the first guest directory is read.
  const settle = dc.headerCache ? headerSettleMs(dc.layout.imagesDir) : Promise.resolve(undefined);
  const owners = (await readdirOrEmpty(dc.layout.imagesDir)).filter((d) => GUEST_DIR.test(d) && (filter.vmid === undefined || Number(d) === filter.vmid));
  const inspect = async (owner: number, name: string, format: VolumeInfo['format'], settleMs: number | undefined): Promise<VolumeInfo | undefined> => {
    try {
      const info = await imageFileInfo(dc.runner, `${dc.layout.guestDir(owner)}/${name}`, format, {
        quotaPath: format === 'subvol' ? dc.layout.quotaPath(owner, name) : undefined,
        signal: dc.signal,
        headerCache: dc.headerCache,
        headerSettleMs: settleMs,
      });
      return imageVolumeInfo(dc, owner, name, info);
    } catch (err) {
      if (isMissing(err)) return undefined;
      // A file whose header cannot be read (half written by a process that died, damaged) is
      // still the guest's volume: listed with its file facts, so that rescan adopts it and
      // destroy frees it, instead of an invisible file that nothing ever removes.
      const path = `${dc.layout.guestDir(owner)}/${name}`;
      const st = await stat(path).catch(() => undefined);
      if (!st) return undefined;
      dc.log.warn(`storage '${dc.sid}': image ${owner}/${name} cannot be read (${(err as Error).message}): listed with its file size`);
      return imageVolumeInfo(dc, owner, name, { sizeBytes: st.isFile() ? st.size : 0, usedBytes: st.isFile() ? st.blocks * 512 : 0, ctime: Math.floor(st.ctimeMs / 1000) });
    }
  };
  // Guest directories and their images share one limit, so images are inspected while
  // other directories are still being read.
  const limit = limiter(CONCURRENCY);
  const perOwner = await Promise.all(
    owners.map(async (d) => {
      const owner = Number(d);
      const names = await limit(() => readdirOrEmpty(dc.layout.guestDir(owner)));
      const settleMs = await settle;
      const jobs: Array<Promise<VolumeInfo | undefined>> = [];
      for (const name of names) {
        const m = IMAGE_NAME_RE.exec(name);
        if (!m) continue;
        const content = m[3] === 'subvol' ? 'rootdir' : 'images';
        if (filter.content && filter.content !== content) continue;
        const format = m[3] as VolumeInfo['format'];
        jobs.push(limit(() => inspect(owner, name, format, settleMs)));
      }
      return Promise.all(jobs);
    }),
  );
  return perOwner.flat().filter((v): v is VolumeInfo => v !== undefined);
}

/**
 * Files of `iso`, `vztmpl`, `backup`, `snippets` or `import` content (pve's `get_subdir_files`,
 * core's `isListedFile`). With a guest id, backups are those whose name carries `-<vmid>-`.
 */
export async function listFiles(dc: DirContext, content: StorageContent, vmid?: number): Promise<VolumeInfo[]> {
  if (!FILE_CONTENT_TYPES.includes(content as FileContent)) return [];
  const dir = dc.layout.contentDir(content);
  const names = (await readdirOrEmpty(dir)).filter((n) => isListedFile(content as FileContent, n));
  const out = await mapLimit(names, CONCURRENCY, async (name): Promise<VolumeInfo | undefined> => {
    if (content === 'backup' && vmid !== undefined && !new RegExp(`\\S+-${vmid}-\\S+`).test(name)) return undefined;
    const volname = `${content}/${name}`;
    let parsed;
    try {
      parsed = parseDirVolname(volname);
    } catch {
      return undefined;
    }
    return statFileVolume(`${dir}/${name}`, { volid: `${dc.sid}:${volname}`, volname, content, format: parsed.format, vmid: parsed.vmid });
  });
  return out.filter((v): v is VolumeInfo => v !== undefined);
}

/**
 * pve's `list_volumes`: without a content filter, every image and subvol (whatever content
 * is enabled, so that name allocation sees them all) plus the files of the enabled file
 * contents; iso, vztmpl, snippets and import are not listed when a guest id is given. Sorted by volname.
 */
export async function listDirVolumes(
  dc: DirContext,
  enabled: readonly StorageContent[],
  filter: { content?: StorageContent; vmid?: number },
): Promise<VolumeInfo[]> {
  const out: VolumeInfo[] = [];
  if (filter.content === undefined) {
    out.push(...(await listImages(dc, { vmid: filter.vmid })));
    for (const c of enabled) {
      if (c === 'images' || c === 'rootdir') continue;
      if (filter.vmid !== undefined && c !== 'backup') continue;
      out.push(...(await listFiles(dc, c, filter.vmid)));
    }
  } else if (filter.content === 'images' || filter.content === 'rootdir') {
    out.push(...(await listImages(dc, { vmid: filter.vmid, content: filter.content })));
  } else if (filter.vmid === undefined || filter.content === 'backup') {
    out.push(...(await listFiles(dc, filter.content, filter.vmid)));
  }
  return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

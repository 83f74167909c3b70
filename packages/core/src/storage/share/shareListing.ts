import { readdir } from 'node:fs/promises';
import { isListedFile, statFileVolume, type FileContent } from '../fileStorageContent.js';
import { NotFoundError } from '../../errors.js';
import type { StorageContent, VolumeInfo } from '../../contracts/storage.js';
import { volidOf, type ShareContext } from './ShareContext.js';
import { backingBase, imageFileFacts } from './imageFileFacts.js';
import { shareImageVolname, parseShareVolname, type ShareVolname } from './shareVolname.js';
import { isMissing } from './shareErrors.js';

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** The listing entry of one decoded image (its facts read from the file). */
export async function imageVolumeInfo(nc: ShareContext, v: ShareVolname): Promise<VolumeInfo> {
  const facts = await imageFileFacts(nc, nc.layout.pathOf(v), v.format);
  const base = v.base ?? backingBase(facts.backingFile);
  const volname = shareImageVolname({ vmid: v.vmid, name: v.name, base });
  return {
    volid: volidOf(nc, volname),
    volname,
    content: v.content,
    format: v.format,
    sizeBytes: facts.sizeBytes,
    usedBytes: facts.usedBytes,
    vmid: v.vmid,
    isBase: v.isBase,
    ctime: facts.mtime,
    ...(base ? { parent: volidOf(nc, `${base.vmid}/${base.name}`) } : {}),
  };
}

/** Every image under `images/<vmid>/` (one guest when `vmid` is given), decoded; other files are skipped. */
export async function listImages(nc: ShareContext, vmid?: number): Promise<ShareVolname[]> {
  const guests =
    vmid !== undefined ? [String(vmid)] : (await readdir(nc.layout.contentDir('images')).catch(() => [] as string[])).filter((d) => /^[1-9]\d*$/.test(d));
  const out: ShareVolname[] = [];
  for (const guest of guests) {
    for (const file of await entries(nc.layout.guestDir(Number(guest)))) {
      try {
        out.push(parseShareVolname(`${guest}/${file}`));
      } catch {
        // not an image of this storage type (a subvol, a stray file): not listed
      }
    }
  }
  return out;
}

/**
 * The listing entry of a file of non-image content (iso, vztmpl, backup, snippets, import).
 * @throws NotFoundError when it is missing or not a regular file.
 */
export async function fileVolumeInfo(nc: ShareContext, volname: string, v: ShareVolname): Promise<VolumeInfo> {
  const volid = volidOf(nc, volname);
  const info = await statFileVolume(nc.layout.pathOf(v), { volid, volname, content: v.content, format: v.format, vmid: v.vmid });
  if (!info) throw new NotFoundError('volume', volid);
  return info;
}

async function fileVolumes(nc: ShareContext, content: FileContent): Promise<VolumeInfo[]> {
  const out: VolumeInfo[] = [];
  for (const file of await entries(nc.layout.contentDir(content))) {
    if (!isListedFile(content, file)) continue;
    const volname = `${content}/${file}`;
    let v: ShareVolname;
    try {
      v = parseShareVolname(volname);
    } catch {
      continue; // not a file of this content type
    }
    const info = await fileVolumeInfo(nc, volname, v).catch(() => undefined);
    if (info) out.push(info);
  }
  return out;
}

/**
 * Lists the volumes of the enabled `content` types, optionally filtered, sorted by volname.
 * Files that vanish while listing are skipped.
 */
export async function listShareVolumes(
  nc: ShareContext,
  content: readonly StorageContent[],
  filter: { content?: StorageContent; vmid?: number }
): Promise<VolumeInfo[]> {
  const wanted = content.filter((c) => c !== 'rootdir' && (filter.content === undefined || filter.content === c));
  const out: VolumeInfo[] = [];
  for (const c of wanted as Array<Exclude<StorageContent, 'rootdir'>>) {
    if (c === 'images') {
      for (const v of await listImages(nc, filter.vmid)) {
        const info = await imageVolumeInfo(nc, v).catch((err: unknown) => {
          if (isMissing(err)) return undefined;
          throw err;
        });
        if (info) out.push(info);
      }
    } else {
      out.push(...(await fileVolumes(nc, c)).filter((v) => filter.vmid === undefined || v.vmid === filter.vmid));
    }
  }
  return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

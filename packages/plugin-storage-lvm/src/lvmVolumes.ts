/**
 * Volume operations shared by the `lvm` and `lvmthin` drivers: listing, info, allocation,
 * removal (with `saferemove` zeroing for lvm), growth. Volumes are LVs named like their volume
 * name in the storage's VG.
 *
 * @packageDocumentation
 */
import { access, open } from 'node:fs/promises';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  StorageFullError,
  type AllocateOptions,
  type StorageContent,
  type VolumeInfo,
} from '@corral/core';
import { LvmCommands } from './LvmCommands.js';
import { lvmFailure } from './lvmErrors.js';
import { parseThinSnapshotLv, type LvmVolname } from './lvmVolname.js';
import type { LvmLv } from './parseLvmReport.js';
import type { LvmSession } from './LvmSession.js';

/** True for an LV this storage lists as a volume (Proxmox's list_images filters). */
export function isListedLv(s: LvmSession, lv: LvmLv): boolean {
  if (s.type === 'lvm') {
    if (!/^vm-\d+-/.test(lv.name)) return false;
    if (s.opts.taggedOnly && !lv.tags.some((t) => /^pve-vm-\d+$/.test(t))) return false;
    return /^[-mMrR]$/.test(lv.type);
  }
  return /^(?:vm|base)-\d+-/.test(lv.name) && lv.type === 'V' && lv.pool === s.opts.thinpool;
}

/** The {@link VolumeInfo} of a listed LV; undefined when its name is not a volume name. */
export function toVolumeInfo(s: LvmSession, lv: LvmLv): VolumeInfo | undefined {
  let v: LvmVolname;
  try {
    v = s.parse(lv.name);
  } catch {
    return undefined;
  }
  const parent = s.type === 'lvmthin' && lv.origin && /^base-\d+-/.test(lv.origin) ? s.volid(lv.origin) : undefined;
  return {
    volid: s.volid(v.volname),
    volname: v.volname,
    content: 'images',
    format: 'raw',
    sizeBytes: lv.sizeBytes,
    usedBytes: lv.dataPercent !== undefined && s.type === 'lvmthin' ? Math.round((lv.sizeBytes * lv.dataPercent) / 100) : undefined,
    vmid: v.vmid,
    isBase: v.isBase,
    parent,
    ctime: lv.ctime,
  };
}

/** Lists the storage's volumes (one `lvs` report), filtered, sorted by volname. */
export async function listLvmVolumes(s: LvmSession, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
  if (filter.content !== undefined && filter.content !== 'images') return [];
  const out: VolumeInfo[] = [];
  for (const lv of await s.listLvs()) {
    if (!isListedLv(s, lv)) continue;
    const info = toVolumeInfo(s, lv);
    if (!info || (filter.vmid !== undefined && info.vmid !== filter.vmid)) continue;
    out.push(info);
  }
  return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

/**
 * The LV of a volume.
 *
 * @throws NotFoundError (kind `volume`) when there is none, or it is not a volume of this storage.
 */
export async function volumeLv(s: LvmSession, volname: string): Promise<LvmLv> {
  const v = s.parse(volname);
  const lv = await s.findLv(v.name);
  if (!lv || !isListedLv(s, lv)) throw new NotFoundError('volume', s.volid(volname));
  return lv;
}

/** Size, origin and time of one volume. @throws NotFoundError (kind `volume`). */
export async function lvmVolumeInfo(s: LvmSession, volname: string): Promise<VolumeInfo> {
  return toVolumeInfo(s, await volumeLv(s, volname))!;
}

/** Checks that `name` is a new volume name owned by `vmid` (`vm-<vmid>-...`, raw); returns it parsed. */
export function checkNewName(s: LvmSession, name: string, format: string, vmid: number): LvmVolname {
  if (format !== 'raw') throw new InvalidArgumentError('format', `${s.type} volumes are raw LVs, not '${format}'`);
  let v: LvmVolname | undefined;
  try {
    v = s.parse(name);
  } catch {
    v = undefined;
  }
  if (!v || v.isBase || !name.startsWith(`vm-${vmid}-`)) {
    throw new InvalidArgumentError('name', `illegal name '${name}': a volume of guest ${vmid} on ${s.type} is named 'vm-${vmid}-<x>'`);
  }
  return v;
}

/**
 * Creates a volume: for lvm a plain LV tagged `pve-vm-<vmid>` after checking the VG's free
 * space (Proxmox's alloc_image); for lvmthin a thin LV in the pool, without autoactivation.
 * Returns the volname.
 *
 * @throws AlreadyExistsError, StorageFullError, UnavailableError (no VG or pool),
 *   NotSupportedError (thin LVs on a kernel without device-mapper).
 */
export async function allocateLvmVolume(s: LvmSession, options: AllocateOptions): Promise<string> {
  const v = checkNewName(s, options.name, options.format, options.vmid);
  const volid = s.volid(v.name);
  if (s.type === 'lvm') {
    const vg = await s.requireVg();
    if (vg.freeBytes < options.sizeBytes) throw new StorageFullError(s.sid, options.sizeBytes, vg.freeBytes);
    try {
      await s.run(LvmCommands.lvcreate(s.vg, v.name, options.sizeBytes, [`pve-vm-${options.vmid}`]));
    } catch (err) {
      s.fail(err, { volid, requestedBytes: options.sizeBytes, availableBytes: vg.freeBytes });
    }
    return v.name;
  }
  try {
    await s.run(LvmCommands.lvcreateThin(s.vg, s.opts.thinpool!, v.name, options.sizeBytes));
  } catch (err) {
    s.fail(err, { volid, requestedBytes: options.sizeBytes });
  }
  await setNoAutoactivation(s, v.name);
  return v.name;
}

/** `lvchange --setautoactivation n` for a new thin LV; a failure is a warning (as Proxmox). */
export async function setNoAutoactivation(s: LvmSession, lv: string): Promise<void> {
  await s.run(LvmCommands.noAutoactivation(s.vg, lv)).catch((err: unknown) => s.ctx.log.warn(`storage '${s.sid}': could not disable autoactivation of '${s.vg}/${lv}': ${(err as Error).message}`));
}

/** `lvremove -f <vg>/<lv>`, mapped (NotFoundError naming `volid`). */
export async function removeLv(s: LvmSession, lv: string, volid: string, snapshot?: string): Promise<void> {
  try {
    await s.run(LvmCommands.lvremove(s.vg, lv));
  } catch (err) {
    s.fail(err, { volid, snapshot });
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes zeros over a whole device in steps of `stepBytes` (Proxmox's `blkdiscard --zeroout
 * --step`), then fsyncs. Returns the bytes written.
 */
export async function zeroDevice(path: string, sizeBytes: number, stepBytes: number, signal?: AbortSignal): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    const zeros = Buffer.alloc(Math.min(stepBytes, Math.max(sizeBytes, 1)));
    let offset = 0;
    while (offset < sizeBytes) {
      signal?.throwIfAborted();
      const n = Math.min(zeros.length, sizeBytes - offset);
      await fh.write(zeros, 0, n, offset);
      offset += n;
    }
    await fh.sync();
    return offset;
  } finally {
    await fh.close();
  }
}

/**
 * Removes a plain LV (lvm). With `saferemove` as Proxmox: renamed `del-<name>` at once (it
 * leaves the listing), activated, its data zeroed through the device in
 * `saferemove-stepsize` steps, then removed. When no device node appears (a kernel without
 * device-mapper) the zeroing is skipped with a warning, as Proxmox skips it without a
 * device-mapper link; when zeroing fails the `del-` LV is kept and the error thrown.
 *
 * @throws NotFoundError (kind `volume`).
 */
export async function freeLvmVolume(s: LvmSession, volname: string): Promise<void> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  if (!s.opts.saferemove) {
    await removeLv(s, v.name, volid);
    return;
  }
  const lv = await volumeLv(s, volname);
  const del = `del-${v.name}`;
  try {
    await s.run(LvmCommands.lvrename(s.vg, v.name, del));
  } catch (err) {
    s.fail(err, { volid });
  }
  try {
    await s.run(LvmCommands.activate(s.vg, del, 'local'));
    await s.run(LvmCommands.refresh(s.vg, del));
  } catch (err) {
    s.fail(err, { volid });
  }
  const dev = s.devicePath(del);
  if (await exists(dev)) {
    const n = await zeroDevice(dev, lv.sizeBytes, s.opts.saferemoveStepBytes, s.ctx.signal);
    s.ctx.log.info(`storage '${s.sid}': zeroed ${n} bytes of '${s.vg}/${del}' before removing it`);
  } else {
    s.ctx.log.warn(`storage '${s.sid}': skip zero-out of '${s.vg}/${del}': no device node '${dev}'`);
  }
  await removeLv(s, del, volid);
}

/**
 * Grows a volume (`lvextend -L <KiB>k`); asking for the size it has is a no-op.
 *
 * @throws NotFoundError, StorageFullError.
 */
export async function resizeLvmVolume(s: LvmSession, volname: string, sizeBytes: number): Promise<void> {
  const v = s.parse(volname);
  const volid = s.volid(volname);
  await volumeLv(s, volname);
  try {
    await s.run(LvmCommands.lvextend(s.vg, v.name, sizeBytes));
  } catch (err) {
    if (lvmFailure(err) === 'same-size') return;
    const free = s.type === 'lvm' ? (await s.vgInfo().catch(() => undefined))?.freeBytes : undefined;
    s.fail(err, { volid, requestedBytes: sizeBytes, availableBytes: free });
  }
}

/** Thin snapshots (`snap_<volname>_<snap>`) of a volume, from a listing. */
export function snapshotLvsOf(all: readonly LvmLv[], volname: string): Array<{ lv: LvmLv; snapshot: string }> {
  const out: Array<{ lv: LvmLv; snapshot: string }> = [];
  for (const lv of all) {
    const snapshot = parseThinSnapshotLv(lv.name, volname);
    if (snapshot !== undefined) out.push({ lv, snapshot });
  }
  return out;
}

/** Throws AlreadyExistsError when an LV of that name exists (import's check, before anything is created). */
export async function assertLvAbsent(s: LvmSession, name: string): Promise<void> {
  if (await s.findLv(name)) throw new AlreadyExistsError('volume', s.volid(name));
}

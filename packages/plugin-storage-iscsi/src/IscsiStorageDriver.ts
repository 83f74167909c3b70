import type { Writable } from 'node:stream';
import {
  NotFoundError,
  NotSupportedError,
  ParseError,
  encodeSizeHeader,
  endStream,
  writeChunk,
  type ParsedVolname,
  type StorageContent,
  type StorageContext,
  type StorageDriverInfo,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeInfo,
  writeFileBytes,
} from '@corral/core';
import { IscsiLunDriver } from './IscsiLunDriver.js';
import { ISCSI_STORAGE_INFO } from './iscsiStorageInfo.js';
import { iscsiOptions } from './iscsiOptions.js';
import { parseIscsiVolname } from './iscsiVolname.js';
import { iscsiPortals, listIscsiSessions, loginIscsiTarget, logoutIscsiTarget, portalWithPort, rescanIscsiSessions } from './iscsiadm.js';
import { checkIscsiDevice, listIscsiDevices, type HostRoots, type IscsiDevice } from './iscsiDevices.js';
import { refuseSnapshot, refuseTransferOptions } from './iscsiRefusals.js';

/** Options of {@link IscsiStorageDriver}. */
export interface IscsiStorageDriverOptions {
  /** Where sysfs and /dev are (default `/sys` and `/dev`; tests use a private tree). */
  readonly roots?: Partial<HostRoots>;
}

/**
 * Storage type `iscsi` (Proxmox's ISCSIPlugin): the kernel initiator (open-iscsi) logs in to
 * the configured target on `activate` (discovery, login retries off, login; a rescan when
 * already logged in), and every disk LUN of its sessions is a volume
 * `<channel>.<id>.<lun>.<by-id name>`, a block device `/dev/disk/by-id/<name>` for every
 * consumer. Found in sysfs as Proxmox does; `resolve` (and so the export) accepts only a
 * listed LUN whose every device below is on this target. Volumes belong to no guest; nothing can be allocated, freed,
 * resized or snapshotted (`NotSupportedError`); a LUN exports as `raw+size`.
 *
 * `status` is active when a session to the target exists; size and use are the LUNs' total.
 * The driver takes no locks.
 */
export class IscsiStorageDriver extends IscsiLunDriver {
  readonly info: StorageDriverInfo = ISCSI_STORAGE_INFO;
  readonly #roots: HostRoots;

  constructor(options: IscsiStorageDriverOptions = {}) {
    super();
    this.#roots = { sys: options.roots?.sys ?? '/sys', dev: options.roots?.dev ?? '/dev' };
  }

  /** See {@link parseIscsiVolname}. */
  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return parseIscsiVolname(volname);
  }


  /**
   * Logs in when no session of the target exists, or when a portal of the node database has
   * none (multipath); otherwise rescans the sessions for new LUNs.
   *
   * @throws UnavailableError when iscsiadm is missing or the login fails.
   */
  async activate(ctx: StorageContext): Promise<void> {
    const { portal, target } = iscsiOptions(ctx.storage);
    const sessions = (await listIscsiSessions(ctx)).get(target);
    const portals = await iscsiPortals(ctx, target, portal);
    const logged = new Set((sessions ?? []).map((s) => s.portal));
    if (!sessions || portals.some((p) => !logged.has(portalWithPort(p)))) await loginIscsiTarget(ctx, target, portals);
    else await rescanIscsiSessions(ctx, sessions);
  }

  /** Logs out of the target when a session exists. */
  override async deactivate(ctx: StorageContext): Promise<void> {
    const { target } = iscsiOptions(ctx.storage);
    if ((await listIscsiSessions(ctx)).has(target)) await logoutIscsiTarget(ctx, target);
  }

  /** Active when a session to the target exists; never throws for an unreachable one. */
  async status(ctx: StorageContext): Promise<StorageStatus> {
    try {
      const { target } = iscsiOptions(ctx.storage);
      if (!(await listIscsiSessions(ctx)).has(target)) return { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
      const total = (await listIscsiDevices(this.#roots, target)).reduce((n, d) => n + d.sizeBytes, 0);
      return { active: true, totalBytes: total, usedBytes: total, availableBytes: 0 };
    } catch (err) {
      ctx.log.warn(`storage '${ctx.storage.id}': ${(err as Error).message}`);
      return { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
    }
  }

  /** The disk LUNs of the target's sessions, sorted by volname; a guest filter gives none. */
  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    if (this.filtersOutLuns(filter)) return [];
    const { target } = iscsiOptions(ctx.storage);
    return (await listIscsiDevices(this.#roots, target)).map((d) => this.#volume(ctx, d));
  }

  /** @throws NotFoundError when no session of the target has that device. */
  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return this.#volume(ctx, await this.#device(ctx, volname));
  }



  /**
   * The block device `/dev/disk/by-id/<name>`, for every consumer, after checking that the
   * volname is one of the target's LUNs as {@link listVolumes} lists them (Proxmox's
   * iscsi_device_list check: no other by-id name, such as an LV's `dm-name-...` over a LUN)
   * and that every device below it is on this target.
   *
   * @throws NotFoundError when the target lists no such LUN or the device is missing;
   *   InvalidStateError when it is no block device or any device below it belongs to another
   *   target; NotSupportedError for a snapshot.
   */
  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    refuseSnapshot(this.info.type, options.snapshot);
    const { name } = await this.#device(ctx, volname);
    const path = await checkIscsiDevice(this.#roots, iscsiOptions(ctx.storage).target, name, `${ctx.storage.id}:${volname}`);
    return { kind: 'block', path, format: 'raw' };
  }

  /** `raw+size`: the size from `blockdev --getsize64`, then the device's bytes; only a volume {@link resolve} accepts. */
  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    refuseTransferOptions(this.info.type, options);
    const access = await this.resolve(ctx, volname, { consumer: 'host' });
    if (access.kind !== 'block') throw new NotSupportedError('export', `volume '${volname}' is no block device`);
    const { stdout } = await ctx.runner.run(['blockdev', '--getsize64', access.path], { signal: ctx.signal });
    if (!/^\d+\s*$/.test(stdout)) throw new ParseError('blockdev', `unexpected output '${stdout.trim()}'`);
    const size = Number(stdout.trim());
    await writeChunk(options.stream, encodeSizeHeader(size));
    await writeFileBytes(access.path, options.stream, { length: size, signal: ctx.signal });
    await endStream(options.stream);
  }

  async #device(ctx: StorageContext, volname: string): Promise<IscsiDevice> {
    parseIscsiVolname(volname);
    const found = (await listIscsiDevices(this.#roots, iscsiOptions(ctx.storage).target)).find((d) => d.volname === volname);
    if (!found) throw new NotFoundError('volume', `${ctx.storage.id}:${volname}`, `volume '${ctx.storage.id}:${volname}' does not exist: no session of the target has that device`);
    return found;
  }

  #volume(ctx: StorageContext, d: IscsiDevice): VolumeInfo {
    return { volid: `${ctx.storage.id}:${d.volname}`, volname: d.volname, content: 'images', format: 'raw', sizeBytes: d.sizeBytes, isBase: false };
  }
}

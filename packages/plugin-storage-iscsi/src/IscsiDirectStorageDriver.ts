import type { Writable } from 'node:stream';
import {
  InvalidArgumentError,
  NotSupportedError,
  type ParsedVolname,
  type StorageContent,
  type StorageContext,
  type StorageDriverInfo,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeInfo,
} from '@corral/core';
import { IscsiLunDriver } from './IscsiLunDriver.js';
import { ISCSI_DIRECT_STORAGE_INFO } from './iscsiStorageInfo.js';
import { iscsiOptions, iscsiUrl, type IscsiOptions } from './iscsiOptions.js';
import { parseIscsiDirectVolname } from './iscsiVolname.js';
import { listDiskLuns, lunSize } from './libiscsi.js';
import { exportQemuRawSize } from './rawSizeExport.js';
import { refuseSnapshot, refuseTransferOptions } from './iscsiRefusals.js';

/**
 * Storage type `iscsidirect` (Proxmox's ISCSIDirectPlugin): every disk LUN of the configured
 * target is a volume `lun<N>`, listed with libiscsi's `iscsi-ls -s` and sized exactly with
 * `iscsi-readcapacity16`, and reached by QEMU through its `iscsi` block driver
 * (`iscsi://<portal>/<target>/<N>`); no kernel initiator is involved. Volumes belong to no
 * guest and cannot be created, freed, resized or snapshotted here (`NotSupportedError`, as
 * Proxmox dies); a LUN exports as `raw+size`.
 *
 * Differences from Proxmox, on purpose: only the LUNs of the configured target are listed
 * (iscsi-ls lists every target of the portal and Proxmox merges them by LUN number), sizes are
 * exact (iscsi-ls rounds them down: a 3 GiB LUN shows as 2G), and `status` reports the LUNs'
 * total as size and use (Proxmox reports zeros).
 *
 * The driver takes no locks and keeps no state between calls.
 */
export class IscsiDirectStorageDriver extends IscsiLunDriver {
  readonly info: StorageDriverInfo = ISCSI_DIRECT_STORAGE_INFO;

  /** See {@link parseIscsiDirectVolname}. */
  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return parseIscsiDirectVolname(volname);
  }


  /** Nothing to set up: every libiscsi client logs in on its own (as Proxmox). */
  async activate(ctx: StorageContext): Promise<void> {
    iscsiOptions(ctx.storage);
  }

  /**
   * Active when the portal answers and offers the target; then the total size of its disk LUNs
   * is both `totalBytes` and `usedBytes` (nothing is free to allocate). Never throws for an
   * unreachable portal.
   */
  async status(ctx: StorageContext): Promise<StorageStatus> {
    try {
      const luns = await listDiskLuns(ctx, iscsiOptions(ctx.storage));
      const total = luns.reduce((n, l) => n + l.sizeBytes, 0);
      return { active: true, totalBytes: total, usedBytes: total, availableBytes: 0 };
    } catch (err) {
      ctx.log.warn(`storage '${ctx.storage.id}': ${(err as Error).message}`);
      return { active: false, totalBytes: 0, usedBytes: 0, availableBytes: 0 };
    }
  }

  /** The disk LUNs as `lun<N>`, sorted by volname. A guest filter gives none (LUNs have no owner), as Proxmox. */
  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    if (this.filtersOutLuns(filter)) return [];
    const luns = await listDiskLuns(ctx, iscsiOptions(ctx.storage));
    return luns.map((l) => this.#volume(ctx, `lun${l.lun}`, l.sizeBytes)).sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
  }

  /** @throws NotFoundError when the target has no such LUN. */
  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    const { lun } = parseIscsiDirectVolname(volname);
    return this.#volume(ctx, volname, await lunSize(ctx, iscsiOptions(ctx.storage), lun, this.#volid(ctx, volname)));
  }



  /**
   * The QEMU `iscsi` protocol node of the LUN, for every consumer but containers (host tools
   * such as qemu-img and qemu-io take the same URL). Checks that the LUN exists.
   *
   * @throws NotFoundError for a missing LUN; NotSupportedError for a snapshot or a container.
   */
  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    refuseSnapshot(this.info.type, options.snapshot);
    if (options.consumer === 'container') throw new NotSupportedError('container access', `storage type '${this.info.type}' gives no block device: its LUNs are reached through libiscsi only`);
    const { lun } = parseIscsiDirectVolname(volname);
    const opts = iscsiOptions(ctx.storage);
    await lunSize(ctx, opts, lun, this.#volid(ctx, volname));
    return qemuIscsiAccess(opts, lun);
  }

  /** `raw+size` of the LUN's current bytes (see {@link exportQemuRawSize}). */
  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    refuseTransferOptions(this.info.type, options);
    const { lun } = parseIscsiDirectVolname(volname);
    const opts = iscsiOptions(ctx.storage);
    const size = await lunSize(ctx, opts, lun, this.#volid(ctx, volname));
    await exportQemuRawSize(ctx, iscsiUrl(opts, lun), size, options.stream);
  }

  #volid(ctx: StorageContext, volname: string): string {
    return `${ctx.storage.id}:${volname}`;
  }

  #volume(ctx: StorageContext, volname: string, sizeBytes: number): VolumeInfo {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidArgumentError('sizeBytes', `LUN ${volname} reports size ${sizeBytes}`);
    return { volid: this.#volid(ctx, volname), volname, content: 'images', format: 'raw', sizeBytes, isBase: false };
  }
}

/**
 * The QEMU access of LUN `lun`: `-blockdev` JSON of driver `iscsi` (transport tcp, portal,
 * target, lun) and the `iscsi://` URL, raw. Both iSCSI types answer it for QEMU where it
 * applies (Proxmox's `qemu_blockdev_options` of ISCSIDirectPlugin).
 */
export function qemuIscsiAccess(opts: IscsiOptions, lun: number): VolumeAccess {
  return {
    kind: 'qemu',
    blockdev: { driver: 'iscsi', transport: 'tcp', portal: opts.portal, target: opts.target, lun },
    url: iscsiUrl(opts, lun),
    format: 'raw',
  };
}

import type { Readable, Writable } from 'node:stream';
import {
  BaseStorageDriver,
  type AllocateOptions,
  type CopyVolumeWithinOptions,
  type StorageDefinition,
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
  type VolumeSnapshotInfo,
} from '@corral/core';
import { activateBtrfs, btrfsStatus, checkBtrfsDefinition } from './btrfsActivation.js';
import { cloneLinked, copyWithin, createBase } from './btrfsClones.js';
import { btrfsContext } from './BtrfsContext.js';
import { fileVolumeInfo, freeFile, listFiles, resolveFile, uploadFile } from './btrfsFiles.js';
import { QuotaActivation } from './btrfsQuota.js';
import { createSnapshot, deleteSnapshot, listSnapshots, rollbackSnapshot } from './btrfsSnapshots.js';
import { BTRFS_STORAGE_INFO, btrfsInfoFor } from './btrfsStorageInfo.js';
import { exportVolume, importVolume } from './btrfsTransfer.js';
import { parseBtrfsVolname, toParsedVolname } from './btrfsVolname.js';
import { allocateVolume, freeGuestVolume, guestVolumeInfo, listGuestVolumes, resizeGuestVolume, resolveGuestVolume } from './btrfsVolumes.js';

/**
 * Storage type `btrfs`: Proxmox's BTRFSPlugin. Volumes live under the storage's `path` in
 * Proxmox's layout (see {@link BtrfsLayout}): a raw image is `disk.raw` inside its own
 * subvolume, a container volume is a subvolume, a snapshot is a read-only subvolume snapshot
 * `<subvolume>@<name>`, a linked clone is a writable snapshot of its base. An existing Proxmox
 * btrfs storage can be used as it is.
 *
 * External programs: `btrfs` (btrfs-progs), `chattr` (option `nocow`), `tar` (`tar+size`),
 * all through the context's CommandRunner. Locks are the facade's; the driver undoes its own
 * partial work.
 */
export class BtrfsStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = BTRFS_STORAGE_INFO;
  readonly #quotas = new QuotaActivation();

  /** Per storage: `resize` of subvols only with `quotas 1` (see {@link btrfsInfoFor}). */
  infoFor(definition: StorageDefinition): StorageDriverInfo {
    return btrfsInfoFor(definition);
  }

  /** A same-storage copy: a new subvolume filled with reflinks (`cp -a --reflink=auto`) of the volume or its snapshot, not a snapshot, so it is no linked clone of its source. */
  async copyVolume(ctx: StorageContext, volname: string, options: CopyVolumeWithinOptions): Promise<string> {
    return copyWithin(btrfsContext(ctx), volname, options);
  }

  /** See {@link parseBtrfsVolname}. */
  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return toParsedVolname(volname, parseBtrfsVolname(volname));
  }

  async checkDefinition(ctx: StorageContext): Promise<void> {
    await checkBtrfsDefinition(btrfsContext(ctx));
  }

  async activate(ctx: StorageContext): Promise<void> {
    await activateBtrfs(btrfsContext(ctx), ctx.storage.content, this.#quotas);
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return btrfsStatus(btrfsContext(ctx));
  }

  /**
   * pve's `list_volumes`: without a content filter, every guest volume (whatever content is
   * enabled, so that name allocation sees them all) plus the files of the enabled file
   * contents; iso, vztmpl and snippets are not listed for a guest id. Sorted by volname.
   */
  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    const bc = btrfsContext(ctx);
    const out: VolumeInfo[] = [];
    if (filter.content === 'images' || filter.content === 'rootdir' || filter.content === undefined) {
      out.push(...(await listGuestVolumes(bc, { vmid: filter.vmid, content: filter.content })));
    }
    const files = filter.content === undefined ? ctx.storage.content : [filter.content];
    for (const c of files) {
      if (c === 'images' || c === 'rootdir' || (filter.vmid !== undefined && c !== 'backup')) continue;
      out.push(...(await listFiles(bc, c, filter.vmid)));
    }
    return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    const bc = btrfsContext(ctx);
    return parseBtrfsVolname(volname).kind === 'guest' ? guestVolumeInfo(bc, volname) : fileVolumeInfo(bc, volname);
  }

  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    return allocateVolume(btrfsContext(ctx), options);
  }

  async free(ctx: StorageContext, volname: string): Promise<void> {
    const bc = btrfsContext(ctx);
    await (parseBtrfsVolname(volname).kind === 'guest' ? freeGuestVolume(bc, volname) : freeFile(bc, volname));
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await resizeGuestVolume(btrfsContext(ctx), volname, options.sizeBytes);
  }

  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    const bc = btrfsContext(ctx);
    return parseBtrfsVolname(volname).kind === 'guest' ? resolveGuestVolume(bc, volname, options.snapshot) : resolveFile(bc, volname);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await createSnapshot(btrfsContext(ctx), volname, options.snapshot);
  }

  override async snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]> {
    return listSnapshots(btrfsContext(ctx), volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await rollbackSnapshot(btrfsContext(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await deleteSnapshot(btrfsContext(ctx), volname, options.snapshot);
  }

  override async createBase(ctx: StorageContext, volname: string): Promise<string> {
    return createBase(btrfsContext(ctx), volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    return cloneLinked(btrfsContext(ctx), volname, options);
  }

  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    await exportVolume(btrfsContext(ctx), volname, options);
  }

  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    return importVolume(btrfsContext(ctx), options);
  }

  override async uploadFile(ctx: StorageContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
    return uploadFile(btrfsContext(ctx), options);
  }
}

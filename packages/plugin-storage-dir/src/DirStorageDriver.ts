import type { Readable, Writable } from 'node:stream';
import {
  BaseStorageDriver,
  type AllocateOptions,
  type CopyVolumeWithinOptions,
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
import { copyDirVolume } from './dirCopy.js';
import { activateDir, checkDirDefinition, dirStatus } from './dirActivation.js';
import { dirContext } from './DirContext.js';
import { allocateImage, cloneLinkedImage, createBaseImage, dirVolumeInfo, freeImage, resizeImage, resolveDirVolume } from './dirImages.js';
import { listDirVolumes } from './dirListing.js';
import { createSnapshot, deleteSnapshot, listSnapshots, rollbackSnapshot } from './dirSnapshots.js';
import { DIR_STORAGE_INFO } from './dirStorageInfo.js';
import { ImageHeaderCache } from './ImageHeaderCache.js';
import { exportDirVolume, importDirVolume } from './dirTransfer.js';
import { uploadDirFile } from './dirUpload.js';
import { parseDirVolname, toParsedVolname } from './dirVolname.js';

/**
 * Storage type `dir`: Proxmox's directory storage. Volumes live under the storage's `path`
 * in Proxmox's layout (`images/<vmid>/vm-<vmid>-disk-N.{raw,qcow2,vmdk}`,
 * `images/<vmid>/subvol-<vmid>-disk-N.subvol/`, `template/iso`, `template/cache`, `dump`,
 * `snippets`), so an existing Proxmox `dir` storage can be used as it is.
 *
 * External programs: `qemu-img` (create, resize, snapshot, info, convert), `qemu-nbd` (streams
 * of qcow2/vmdk volumes), `tar` (subvol streams), `cp --reflink=auto` (copies within the
 * storage), all through the context's CommandRunner.
 * Locks are the facade's; the driver only undoes its own partial work.
 */
export class DirStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = DIR_STORAGE_INFO;
  /** Image headers of unchanged files, so warm listings do not reopen them. */
  readonly #headers = new ImageHeaderCache();

  #context(ctx: StorageContext) {
    return dirContext(ctx, this.#headers);
  }

  /** See {@link parseDirVolname}. */
  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return toParsedVolname(volname, parseDirVolname(volname));
  }

  async checkDefinition(ctx: StorageContext): Promise<void> {
    await checkDirDefinition(this.#context(ctx));
  }

  async activate(ctx: StorageContext): Promise<void> {
    await activateDir(this.#context(ctx), ctx.storage.content);
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return dirStatus(this.#context(ctx));
  }

  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    return listDirVolumes(this.#context(ctx), ctx.storage.content, filter);
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return dirVolumeInfo(this.#context(ctx), volname);
  }

  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    return allocateImage(this.#context(ctx), options);
  }

  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeImage(this.#context(ctx), volname);
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await resizeImage(this.#context(ctx), volname, options.sizeBytes);
  }

  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    return resolveDirVolume(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await createSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]> {
    return listSnapshots(this.#context(ctx), volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await rollbackSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await deleteSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async createBase(ctx: StorageContext, volname: string): Promise<string> {
    return createBaseImage(this.#context(ctx), volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    return cloneLinkedImage(this.#context(ctx), volname, options);
  }

  /** Same-storage copy without streaming: `cp --reflink=auto` (raw images, subvols) or `qemu-img convert` (qcow2, vmdk, qcow2 snapshots). */
  async copyVolume(ctx: StorageContext, volname: string, options: CopyVolumeWithinOptions): Promise<string> {
    return copyDirVolume(this.#context(ctx), volname, options);
  }

  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    await exportDirVolume(this.#context(ctx), volname, options);
  }

  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    return importDirVolume(this.#context(ctx), options);
  }

  override async uploadFile(ctx: StorageContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
    return uploadDirFile(this.#context(ctx), options);
  }
}

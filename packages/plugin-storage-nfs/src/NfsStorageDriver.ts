import type { Readable, Writable } from "node:stream";
import {
  BaseStorageDriver,
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
  type VolumeSnapshotInfo,
} from "@corral/core";
import { nfsContext, type NfsContext } from "./NfsContext.js";
import {
  activateNfs,
  checkNfsDefinition,
  deactivateNfs,
  nfsStatus,
} from "./nfsActivation.js";
import { resolveNfsVolume } from "./nfsAccess.js";
import { cloneNfsLinked, createNfsBase } from "./nfsClones.js";
import {
  allocateNfsImage,
  freeNfsVolume,
  nfsVolumeInfo,
  resizeNfsImage,
} from "./nfsImages.js";
import { listNfsVolumes } from "./nfsListing.js";
import { KernelNfsMounter, type NfsMounter } from "./NfsMounter.js";
import {
  createNfsSnapshot,
  deleteNfsSnapshot,
  listNfsSnapshots,
  rollbackNfsSnapshot,
} from "./nfsSnapshots.js";
import { NFS_STORAGE_INFO } from "./nfsStorageInfo.js";
import { exportNfsVolume, importNfsVolume } from "./nfsTransfer.js";
import { uploadNfsFile } from "./nfsUpload.js";
import { parseNfsVolname, toParsedVolname } from "./nfsVolname.js";

/**
 * Storage type `nfs`: Proxmox's NFS storage. `activate` mounts `server:export` on `path`
 * (`mount -t nfs ... -o <options>` through the context's CommandRunner) unless /proc/mounts
 * already shows it there; `deactivate` unmounts. Files are laid out under the mount point as
 * on a dir storage (`images/<vmid>/vm-<vmid>-disk-N.{raw,qcow2}`, `template/iso`,
 * `template/cache`, `dump`, `snippets`, or `content-dirs`), so an existing Proxmox nfs
 * storage can be used as it is. QEMU opens images straight from the server through libnfs
 * (`resolve` for consumer `qemu` answers an `nfs` blockdev); host consumers get the file on
 * the mount.
 *
 * External programs: `mount`, `umount`, `qemu-img`. Locks are the facade's; the driver only
 * undoes its own partial work.
 */
export class NfsStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = NFS_STORAGE_INFO;

  /** @param mounter how exports are mounted and checked (default: the kernel client, {@link KernelNfsMounter}). */
  constructor(private readonly mounter: NfsMounter = new KernelNfsMounter()) {
    super();
  }

  #context(ctx: StorageContext): NfsContext {
    return nfsContext(ctx, this.mounter);
  }

  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return toParsedVolname(volname, parseNfsVolname(volname));
  }

  async checkDefinition(ctx: StorageContext): Promise<void> {
    checkNfsDefinition(this.#context(ctx));
  }

  async activate(ctx: StorageContext): Promise<void> {
    await activateNfs(this.#context(ctx), ctx.storage.content);
  }

  override async deactivate(ctx: StorageContext): Promise<void> {
    await deactivateNfs(this.#context(ctx));
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return nfsStatus(this.#context(ctx));
  }

  async listVolumes(
    ctx: StorageContext,
    filter: { content?: StorageContent; vmid?: number }
  ): Promise<VolumeInfo[]> {
    return listNfsVolumes(this.#context(ctx), ctx.storage.content, filter);
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return nfsVolumeInfo(this.#context(ctx), volname);
  }

  async allocate(
    ctx: StorageContext,
    options: AllocateOptions
  ): Promise<string> {
    return allocateNfsImage(this.#context(ctx), options);
  }

  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeNfsVolume(this.#context(ctx), volname);
  }

  override async resize(
    ctx: StorageContext,
    volname: string,
    options: { sizeBytes: number }
  ): Promise<void> {
    await resizeNfsImage(this.#context(ctx), volname, options.sizeBytes);
  }

  async resolve(
    ctx: StorageContext,
    volname: string,
    options: { consumer: VolumeConsumer; snapshot?: string }
  ): Promise<VolumeAccess> {
    return resolveNfsVolume(
      this.#context(ctx),
      volname,
      options.consumer,
      options.snapshot
    );
  }

  override async snapshotCreate(
    ctx: StorageContext,
    volname: string,
    options: { snapshot: string }
  ): Promise<void> {
    await createNfsSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotList(
    ctx: StorageContext,
    volname: string
  ): Promise<VolumeSnapshotInfo[]> {
    return listNfsSnapshots(this.#context(ctx), volname);
  }

  override async snapshotRollback(
    ctx: StorageContext,
    volname: string,
    options: { snapshot: string }
  ): Promise<void> {
    await rollbackNfsSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(
    ctx: StorageContext,
    volname: string,
    options: { snapshot: string }
  ): Promise<void> {
    await deleteNfsSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async createBase(
    ctx: StorageContext,
    volname: string
  ): Promise<string> {
    return createNfsBase(this.#context(ctx), volname);
  }

  override async cloneLinked(
    ctx: StorageContext,
    volname: string,
    options: { vmid: number; name: string; snapshot?: string }
  ): Promise<string> {
    return cloneNfsLinked(this.#context(ctx), volname, options);
  }

  override async exportVolume(
    ctx: StorageContext,
    volname: string,
    options: { format: TransferFormat; stream: Writable; snapshot?: string }
  ): Promise<void> {
    await exportNfsVolume(this.#context(ctx), volname, options);
  }

  override async importVolume(
    ctx: StorageContext,
    options: {
      format: TransferFormat;
      stream: Readable;
      vmid: number;
      name: string;
      content: StorageContent;
      volumeFormat: VolumeFormat;
    }
  ): Promise<string> {
    return importNfsVolume(this.#context(ctx), options);
  }

  override async uploadFile(
    ctx: StorageContext,
    options: { content: StorageContent; filename: string; stream: Readable }
  ): Promise<string> {
    return uploadNfsFile(this.#context(ctx), options);
  }
}

import type { Readable, Writable } from 'node:stream';
import { BaseStorageDriver } from '../../contracts/BaseStorageDriver.js';
import type {
  AllocateOptions,
  ParsedVolname,
  StorageContent,
  StorageContext,
  StorageDriverInfo,
  StorageStatus,
  TransferFormat,
  VolumeAccess,
  VolumeConsumer,
  VolumeFormat,
  VolumeInfo,
  VolumeSnapshotInfo,
} from '../../contracts/storage.js';
import { shareContext, type ShareContext } from './ShareContext.js';
import { activateShare, checkShareDefinition, deactivateShare, shareStatus } from './shareActivation.js';
import { resolveShareVolume } from './shareAccess.js';
import { cloneShareLinked, createShareBase } from './shareClones.js';
import { allocateShareImage, freeShareVolume, shareVolumeInfo, resizeShareImage } from './shareImages.js';
import { listShareVolumes } from './shareListing.js';
import { KernelShareMounter, type ShareMounter } from './ShareMounter.js';
import { createShareSnapshot, deleteShareSnapshot, listShareSnapshots, rollbackShareSnapshot } from './shareSnapshots.js';
import type { ShareType } from './ShareType.js';
import { exportShareVolume, importShareVolume } from './shareTransfer.js';
import { uploadShareFile } from './shareUpload.js';
import { parseShareVolname, toParsedVolname } from './shareVolname.js';

/**
 * The driver of a mounted-share storage type (a filesystem the node mounts: plugin-storage-nfs's
 * `nfs` and `cifs`, plugin-storage-glusterfs's `glusterfs`; what differs per type is its
 * {@link ShareType}): `activate` mounts the share on `path` (the type's `mount ...` argv
 * through the context's CommandRunner, by the {@link ShareMounter}) unless /proc/mounts already
 * shows it there; `deactivate` unmounts. Files are laid out under the mount point as on a dir
 * storage (`images/<vmid>/vm-<vmid>-disk-N.{raw,qcow2}`, `template/iso`, `template/cache`,
 * `dump`, `snippets`, `import`, or `content-dirs`; see `ShareLayout`), so an existing
 * Proxmox storage of the type can be used as it is. `resolve` for consumer `qemu` answers what
 * the type's {@link ShareType.qemuAccess} gives (nfs: a libnfs blockdev); everything else gets
 * the file on the mount.
 *
 * External programs: the type's `mount` argv, `umount`, `qemu-img`. Locks are the facade's; the
 * driver only undoes its own partial work. Subclass it to add to an operation (call `super`).
 */
export class ShareStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo;

  /**
   * @param type the storage type (e.g. plugin-storage-nfs's `NFS_SHARE_TYPE`).
   * @param mounter how shares are mounted and checked (default: the kernel client, {@link KernelShareMounter}).
   */
  constructor(private readonly type: ShareType, private readonly mounter: ShareMounter = new KernelShareMounter()) {
    super();
    this.info = type.info;
  }

  #context(ctx: StorageContext): ShareContext {
    return shareContext(ctx, this.type, this.mounter);
  }

  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return toParsedVolname(volname, parseShareVolname(volname));
  }

  async checkDefinition(ctx: StorageContext): Promise<void> {
    checkShareDefinition(this.#context(ctx));
    this.type.checkDefinition?.(ctx);
  }

  async activate(ctx: StorageContext): Promise<void> {
    await activateShare(this.#context(ctx), ctx.storage.content);
  }

  override async deactivate(ctx: StorageContext): Promise<void> {
    await deactivateShare(this.#context(ctx));
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return shareStatus(this.#context(ctx));
  }

  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    return listShareVolumes(this.#context(ctx), ctx.storage.content, filter);
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return shareVolumeInfo(this.#context(ctx), volname);
  }

  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    return allocateShareImage(this.#context(ctx), options);
  }

  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeShareVolume(this.#context(ctx), volname);
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await resizeShareImage(this.#context(ctx), volname, options.sizeBytes);
  }

  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    return resolveShareVolume(this.#context(ctx), volname, options.consumer, options.snapshot);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await createShareSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]> {
    return listShareSnapshots(this.#context(ctx), volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await rollbackShareSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await deleteShareSnapshot(this.#context(ctx), volname, options.snapshot);
  }

  override async createBase(ctx: StorageContext, volname: string): Promise<string> {
    return createShareBase(this.#context(ctx), volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    return cloneShareLinked(this.#context(ctx), volname, options);
  }

  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    await exportShareVolume(this.#context(ctx), volname, options);
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
    return importShareVolume(this.#context(ctx), options);
  }

  override async uploadFile(ctx: StorageContext, options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
    return uploadShareFile(this.#context(ctx), options);
  }
}

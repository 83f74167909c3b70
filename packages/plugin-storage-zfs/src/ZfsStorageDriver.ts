import type { Readable, Writable } from 'node:stream';
import {
  storageFlag,
  BaseStorageDriver,
  type AllocateOptions,
  type ParsedVolname,
  type StorageContent,
  type StorageContext,
  type StorageDefinition,
  type StorageDriverInfo,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFormat,
  type VolumeInfo,
  type VolumeSnapshotInfo,
} from '@corral/core';
import { ZFS_SPARSE_STORAGE_INFO, ZFS_STORAGE_INFO } from './zfsStorageInfo.js';
import { ZfsSession, type ZfsDriverConfig, type ZfsProbeCache } from './ZfsSession.js';
import { parseZfsVolname } from './zfsVolname.js';
import { activateZfsStorage, checkZfsDefinition, zfsStorageStatus } from './zfsPool.js';
import { allocateZfsVolume, freeZfsVolume, listZfsVolumes, resizeZfsVolume, zfsVolumeInfo } from './zfsVolumes.js';
import { resolveZfsVolume } from './zfsAccess.js';
import { createZfsSnapshot, deleteZfsSnapshot, listZfsSnapshots, rollbackZfsSnapshot } from './zfsSnapshots.js';
import { cloneZfsVolume, createZfsBase } from './zfsClones.js';
import { exportZfsVolume, importZfsVolume } from './zfsTransfer.js';

/** Options of {@link ZfsStorageDriver} (tests point `zvolDeviceRoot` at a directory of their own). */
export type ZfsStorageDriverOptions = Partial<ZfsDriverConfig>;

/**
 * Storage type `zfspool` (Proxmox's ZFSPoolPlugin): volumes are datasets below the storage's
 * `pool` dataset. Container root filesystems are filesystems `subvol-<vmid>-disk-<n>` whose
 * `refquota` is their size, resolving to their mount point; VM disks are zvols
 * `vm-<vmid>-disk-<n>` resolving to `/dev/zvol/<pool>/<name>`. Templates are renamed to
 * `base-`/`basevol-` and carry the snapshot `__base__`; linked clones are `zfs clone`s.
 * Export/import: `zfs` send streams, `raw+size` (zvols), `tar+size` (subvols).
 *
 * Every command runs through the context's CommandRunner (argv arrays, see
 * {@link ZfsCommands}); metadata commands time out after `commandTimeoutMs`. The driver takes
 * no locks: the facade serialises allocations per storage. Works on OpenZFS 2.x and on
 * zfs-fuse 0.7 (datasets only; quirks handled: busy on destroy/rename of mounted filesystems, retried with unmounts,
 * no `acltype`).
 */
export class ZfsStorageDriver extends BaseStorageDriver {
  readonly info: StorageDriverInfo = ZFS_STORAGE_INFO;
  readonly #config: ZfsDriverConfig;
  readonly #probes: ZfsProbeCache = { posixAcl: new Map() };

  constructor(options: ZfsStorageDriverOptions = {}) {
    super();
    this.#config = {
      zvolDeviceRoot: options.zvolDeviceRoot ?? '/dev/zvol',
      zvolDeviceWaitMs: options.zvolDeviceWaitMs ?? 10_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 60_000,
    };
  }

  /**
   * A storage with `sparse` (`1`, or the key alone as the installer writes it) is thin
   * ({@link ZFS_SPARSE_STORAGE_INFO}); others have the type's record.
   */
  infoFor(definition: StorageDefinition): StorageDriverInfo {
    return storageFlag(definition.options.sparse) ? ZFS_SPARSE_STORAGE_INFO : ZFS_STORAGE_INFO;
  }

  #session(ctx: StorageContext): ZfsSession {
    return new ZfsSession(ctx, this.#config, this.#probes);
  }

  /** See {@link parseZfsVolname}. */
  parseVolname(_ctx: StorageContext, volname: string): ParsedVolname {
    return parseZfsVolname(volname);
  }

  /** Checks `blocksize` and that `pool` is an existing filesystem dataset (`InvalidConfigError`). */
  async checkDefinition(ctx: StorageContext): Promise<void> {
    await checkZfsDefinition(this.#session(ctx));
  }

  async activate(ctx: StorageContext): Promise<void> {
    await activateZfsStorage(this.#session(ctx));
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return zfsStorageStatus(this.#session(ctx));
  }

  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    return listZfsVolumes(this.#session(ctx), filter);
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return zfsVolumeInfo(this.#session(ctx), volname);
  }

  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    return allocateZfsVolume(this.#session(ctx), options);
  }

  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeZfsVolume(this.#session(ctx), volname);
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await resizeZfsVolume(this.#session(ctx), volname, options.sizeBytes);
  }

  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    return resolveZfsVolume(this.#session(ctx), volname, options);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await createZfsSnapshot(this.#session(ctx), volname, options.snapshot);
  }

  override async snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]> {
    return listZfsSnapshots(this.#session(ctx), volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await rollbackZfsSnapshot(this.#session(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await deleteZfsSnapshot(this.#session(ctx), volname, options.snapshot);
  }

  override async createBase(ctx: StorageContext, volname: string): Promise<string> {
    return createZfsBase(this.#session(ctx), volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    return cloneZfsVolume(this.#session(ctx), volname, options);
  }

  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    await exportZfsVolume(this.#session(ctx), volname, options);
  }

  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    return importZfsVolume(this.#session(ctx), options);
  }
}

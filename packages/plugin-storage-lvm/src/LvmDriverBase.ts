import type { Readable, Writable } from 'node:stream';
import {
  BaseStorageDriver,
  type AllocateOptions,
  type ParsedVolname,
  type StorageContent,
  type StorageContext,
  type StorageStatus,
  type TransferFormat,
  type VolumeAccess,
  type VolumeConsumer,
  type VolumeFormat,
  type VolumeInfo,
} from '@corral/core';
import { LvmSession, type LvmDriverConfig, type LvmStorageType } from './LvmSession.js';
import { activateLvmStorage, checkLvmDefinition, deactivateLvmStorage, lvmStorageStatus } from './lvmStorage.js';
import { allocateLvmVolume, listLvmVolumes, lvmVolumeInfo, resizeLvmVolume } from './lvmVolumes.js';
import { deactivateLvmVolume, resolveLvmVolume } from './lvmAccess.js';
import { exportLvmVolume, importLvmVolume } from './lvmTransfer.js';

/** Options of the lvm/lvmthin drivers (tests point `deviceRoot` at a directory and add `env`). */
export interface LvmStorageDriverOptions {
  /** Where LV device nodes appear. Default `/dev`. */
  readonly deviceRoot?: string;
  /** Timeout of LVM metadata commands, ms. Default 60 000. */
  readonly commandTimeoutMs?: number;
  /** Environment added to every LVM command (e.g. `LVM_SYSTEM_DIR`), over `LVM_SUPPRESS_FD_WARNINGS=1`. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * What the `lvm` and `lvmthin` drivers share: sessions, storage activation and usage,
 * listing, allocation, growth, device access and `raw+size` transfers. Every command runs
 * through the context's CommandRunner (argv, see `LvmCommands`); the drivers take no locks
 * (the facade serialises allocations per storage).
 */
export abstract class LvmDriverBase extends BaseStorageDriver {
  readonly #config: LvmDriverConfig;

  constructor(
    private readonly storageType: LvmStorageType,
    options: LvmStorageDriverOptions = {},
  ) {
    super();
    this.#config = {
      deviceRoot: options.deviceRoot ?? '/dev',
      commandTimeoutMs: options.commandTimeoutMs ?? 60_000,
      env: { LVM_SUPPRESS_FD_WARNINGS: '1', ...options.env },
    };
  }

  protected session(ctx: StorageContext): LvmSession {
    return new LvmSession(ctx, this.#config, this.storageType);
  }

  parseVolname(ctx: StorageContext, volname: string): ParsedVolname {
    return this.session(ctx).parse(volname);
  }

  /** VG (and thin pool) exist; `snapshot-as-volume-chain` is refused. `InvalidConfigError` naming the option. */
  async checkDefinition(ctx: StorageContext): Promise<void> {
    await checkLvmDefinition(this.session(ctx));
  }

  async activate(ctx: StorageContext): Promise<void> {
    await activateLvmStorage(this.session(ctx));
  }

  override async deactivate(ctx: StorageContext): Promise<void> {
    await deactivateLvmStorage(this.session(ctx));
  }

  async status(ctx: StorageContext): Promise<StorageStatus> {
    return lvmStorageStatus(this.session(ctx));
  }

  async listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]> {
    return listLvmVolumes(this.session(ctx), filter);
  }

  async volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo> {
    return lvmVolumeInfo(this.session(ctx), volname);
  }

  async allocate(ctx: StorageContext, options: AllocateOptions): Promise<string> {
    return allocateLvmVolume(this.session(ctx), options);
  }

  override async resize(ctx: StorageContext, volname: string, options: { sizeBytes: number }): Promise<void> {
    await resizeLvmVolume(this.session(ctx), volname, options.sizeBytes);
  }

  async resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess> {
    return resolveLvmVolume(this.session(ctx), volname, options);
  }

  override async deactivateVolume(ctx: StorageContext, volname: string, options: { snapshot?: string }): Promise<void> {
    await deactivateLvmVolume(this.session(ctx), volname, options.snapshot);
  }

  override async exportVolume(ctx: StorageContext, volname: string, options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    await exportLvmVolume(this.session(ctx), volname, options);
  }

  override async importVolume(
    ctx: StorageContext,
    options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    return importLvmVolume(this.session(ctx), options);
  }
}

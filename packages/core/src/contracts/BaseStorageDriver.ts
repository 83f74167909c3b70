import type { Readable, Writable } from 'node:stream';
import { NotSupportedError } from '../errors.js';
import type {
  AllocateOptions,
  ParsedVolname,
  StorageContent,
  StorageContext,
  StorageDriver,
  StorageDriverInfo,
  StorageStatus,
  TransferFormat,
  VolumeAccess,
  VolumeConsumer,
  VolumeFormat,
  VolumeInfo,
  VolumeSnapshotInfo,
} from './storage.js';

/**
 * Base class for storage drivers: every optional operation answers `NotSupportedError`, so a
 * driver overrides only what it can do (and declares it in {@link StorageDriverInfo.features}).
 * The volume operations every driver needs are abstract.
 */
export abstract class BaseStorageDriver implements StorageDriver {
  abstract readonly info: StorageDriverInfo;

  abstract parseVolname(ctx: StorageContext, volname: string): ParsedVolname;
  abstract activate(ctx: StorageContext): Promise<void>;
  abstract status(ctx: StorageContext): Promise<StorageStatus>;
  abstract listVolumes(ctx: StorageContext, filter: { content?: StorageContent; vmid?: number }): Promise<VolumeInfo[]>;
  abstract volumeInfo(ctx: StorageContext, volname: string): Promise<VolumeInfo>;
  abstract allocate(ctx: StorageContext, options: AllocateOptions): Promise<string>;
  abstract free(ctx: StorageContext, volname: string): Promise<void>;
  abstract resolve(ctx: StorageContext, volname: string, options: { consumer: VolumeConsumer; snapshot?: string }): Promise<VolumeAccess>;

  async deactivate(_ctx: StorageContext): Promise<void> {}
  async deactivateVolume(_ctx: StorageContext, _volname: string, _options: { snapshot?: string }): Promise<void> {}

  protected unsupported(operation: string): never {
    throw new NotSupportedError(operation, `storage type '${this.info.type}' does not support ${operation}`);
  }

  async resize(_ctx: StorageContext, _volname: string, _options: { sizeBytes: number }): Promise<void> {
    this.unsupported('resize');
  }
  async snapshotCreate(_ctx: StorageContext, _volname: string, _options: { snapshot: string }): Promise<void> {
    this.unsupported('snapshot');
  }
  async snapshotList(_ctx: StorageContext, _volname: string): Promise<VolumeSnapshotInfo[]> {
    return [];
  }
  async snapshotRollback(_ctx: StorageContext, _volname: string, _options: { snapshot: string }): Promise<void> {
    this.unsupported('rollback');
  }
  async snapshotDelete(_ctx: StorageContext, _volname: string, _options: { snapshot: string }): Promise<void> {
    this.unsupported('snapshot delete');
  }
  async createBase(_ctx: StorageContext, _volname: string): Promise<string> {
    this.unsupported('template');
  }
  async cloneLinked(_ctx: StorageContext, _volname: string, _options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    this.unsupported('linked clone');
  }
  async exportVolume(_ctx: StorageContext, _volname: string, _options: { format: TransferFormat; stream: Writable; snapshot?: string }): Promise<void> {
    this.unsupported('export');
  }
  async importVolume(
    _ctx: StorageContext,
    _options: { format: TransferFormat; stream: Readable; vmid: number; name: string; content: StorageContent; volumeFormat: VolumeFormat },
  ): Promise<string> {
    this.unsupported('import');
  }
  async uploadFile(_ctx: StorageContext, _options: { content: StorageContent; filename: string; stream: Readable }): Promise<string> {
    this.unsupported('upload');
  }
}

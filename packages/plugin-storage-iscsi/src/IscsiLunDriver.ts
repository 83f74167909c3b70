import { BaseStorageDriver, NotSupportedError, type AllocateOptions, type StorageContent, type StorageContext } from '@corral/core';
import { iscsiOptions } from './iscsiOptions.js';

/**
 * What both iSCSI drivers share: LUNs are made and removed on the target, never by the
 * storage (`allocate` and `free` are `NotSupportedError`, as Proxmox dies), the definition
 * needs a valid `portal` and `target`, and LUNs belong to no guest.
 */
export abstract class IscsiLunDriver extends BaseStorageDriver {
  /** Checks `portal` and `target` without contacting the portal (it may be down when the storage is added). */
  async checkDefinition(ctx: StorageContext): Promise<void> {
    iscsiOptions(ctx.storage);
  }

  /** Always `NotSupportedError`: LUNs are made on the iSCSI target. */
  async allocate(_ctx: StorageContext, _options: AllocateOptions): Promise<string> {
    throw new NotSupportedError('allocate', `storage type '${this.info.type}' cannot allocate volumes: create LUNs on the iSCSI target`);
  }

  /** Always `NotSupportedError`: LUNs are removed on the iSCSI target. */
  async free(_ctx: StorageContext, _volname: string): Promise<void> {
    throw new NotSupportedError('free', `storage type '${this.info.type}' cannot free volumes: remove LUNs on the iSCSI target`);
  }

  /** True when a listing filter leaves no LUN: LUNs have no owner (as Proxmox) and are `images`. */
  protected filtersOutLuns(filter: { content?: StorageContent; vmid?: number }): boolean {
    return filter.vmid !== undefined || (filter.content !== undefined && filter.content !== 'images');
  }
}

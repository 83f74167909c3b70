import type { StorageContext, StorageDriverInfo, VolumeSnapshotInfo } from '@corral/core';
import { LvmDriverBase, type LvmStorageDriverOptions } from './LvmDriverBase.js';
import { LVMTHIN_STORAGE_INFO } from './lvmStorageInfo.js';
import { cloneThinVolume, createThinBase, createThinSnapshot, deleteThinSnapshot, freeThinVolume, listThinSnapshots, rollbackThinSnapshot } from './lvmThinOperations.js';

/**
 * Storage type `lvmthin` (Proxmox's LvmThinPlugin): volumes are thin LVs `vm-<vmid>-disk-<n>`
 * in the thin pool `thinpool` of VG `vgname`; snapshots are thin snapshots
 * `snap_<volname>_<snap>`; templates are `base-<vmid>-disk-<n>` (read-only, skipped by
 * activation); linked clones are writable thin snapshots of a base or a snapshot. Proxmox's
 * installer default `lvmthin: local-lvm` (`thinpool data`, `vgname pve`, `content
 * rootdir,images`) is such a storage.
 */
export class LvmThinStorageDriver extends LvmDriverBase {
  readonly info: StorageDriverInfo = LVMTHIN_STORAGE_INFO;

  constructor(options: LvmStorageDriverOptions = {}) {
    super('lvmthin', options);
  }

  /** Removes the thin LV and its snapshots. */
  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeThinVolume(this.session(ctx), volname);
  }

  override async snapshotCreate(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await createThinSnapshot(this.session(ctx), volname, options.snapshot);
  }

  override async snapshotList(ctx: StorageContext, volname: string): Promise<VolumeSnapshotInfo[]> {
    return listThinSnapshots(this.session(ctx), volname);
  }

  override async snapshotRollback(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await rollbackThinSnapshot(this.session(ctx), volname, options.snapshot);
  }

  override async snapshotDelete(ctx: StorageContext, volname: string, options: { snapshot: string }): Promise<void> {
    await deleteThinSnapshot(this.session(ctx), volname, options.snapshot);
  }

  override async createBase(ctx: StorageContext, volname: string): Promise<string> {
    return createThinBase(this.session(ctx), volname);
  }

  override async cloneLinked(ctx: StorageContext, volname: string, options: { vmid: number; name: string; snapshot?: string }): Promise<string> {
    return cloneThinVolume(this.session(ctx), volname, options);
  }
}

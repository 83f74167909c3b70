import type { StorageContext, StorageDriverInfo } from '@corral/core';
import { LvmDriverBase, type LvmStorageDriverOptions } from './LvmDriverBase.js';
import { LVM_STORAGE_INFO } from './lvmStorageInfo.js';
import { freeLvmVolume } from './lvmVolumes.js';

/**
 * Storage type `lvm` (Proxmox's LVMPlugin, raw volumes): each volume is a plain LV
 * `vm-<vmid>-disk-<n>` in the VG `vgname`, tagged `pve-vm-<vmid>`, reached as
 * `/dev/<vg>/<lv>` after `lvchange -aey`. `saferemove` zeroes an LV before removing it;
 * `tagged_only` lists only tagged LVs; `shared 1` for a VG on shared storage (iSCSI, `base`).
 */
export class LvmStorageDriver extends LvmDriverBase {
  readonly info: StorageDriverInfo = LVM_STORAGE_INFO;

  constructor(options: LvmStorageDriverOptions = {}) {
    super('lvm', options);
  }

  /** Removes the LV (see `freeLvmVolume` for `saferemove`). */
  async free(ctx: StorageContext, volname: string): Promise<void> {
    await freeLvmVolume(this.session(ctx), volname);
  }
}

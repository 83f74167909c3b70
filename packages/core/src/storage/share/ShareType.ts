import type { StorageContext, StorageDriverInfo, VolumeAccess } from '../../contracts/storage.js';
import type { ShareMount } from './ShareMount.js';
import type { ShareFile } from './shareAccess.js';

/**
 * What distinguishes one mounted-share storage type (plugin-storage-nfs's `nfs` and `cifs`,
 * plugin-storage-glusterfs's `glusterfs`) for the shared driver ({@link ShareStorageDriver}):
 * its capability record, how a storage's share is mounted, and whether QEMU can reach the
 * files without the mount. A plugin builds one per type and hands it to the driver.
 */
export interface ShareType {
  readonly info: StorageDriverInfo;
  /** The mount of a storage (`ctx.secrets` holds its secret options; private files go under `ctx.runDir`). */
  shareMount(ctx: StorageContext): ShareMount;
  /**
   * How QEMU opens an existing volume file over the network without the mount (nfs: a libnfs
   * blockdev), or undefined to give QEMU the file on the mount point. Asked by `resolve` for
   * consumer `qemu` only; without this hook QEMU always gets the file.
   */
  qemuAccess?(ctx: StorageContext, file: ShareFile): Promise<Extract<VolumeAccess, { kind: 'qemu' }> | undefined>;
  /**
   * pve's `check_connection`: true when the server answers (nfs: showmount/rpcinfo, cifs:
   * smbclient), false when it does not. Runs through `ctx.runner` before a mount.
   */
  checkConnection?(ctx: StorageContext): Promise<boolean>;
  /** Definition checks beyond the schema; throws `InvalidConfigError`. */
  checkDefinition?(ctx: StorageContext): void;
}

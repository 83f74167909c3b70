import type { StorageContext, StorageDriverInfo } from '@corral/core';
import type { ShareMount } from './ShareMount.js';

/**
 * What distinguishes one network-share storage type (`nfs`, `cifs`) for the shared driver
 * ({@link ShareStorageDriver}): its capability record, how a storage's share is mounted, and
 * whether QEMU can reach the files without the mount.
 */
export interface ShareType {
  readonly info: StorageDriverInfo;
  /** The mount of a storage (`ctx.secrets` holds its secret options; private files go under `ctx.runDir`). */
  shareMount(ctx: StorageContext): ShareMount;
  /** Where QEMU opens the files over the network (nfs: libnfs), or undefined to use the mount. */
  qemuExport?(ctx: StorageContext): { readonly server: string; readonly export: string } | undefined;
  /**
   * pve's `check_connection`: true when the server answers (nfs: showmount/rpcinfo, cifs:
   * smbclient), false when it does not. Runs through `ctx.runner` before a mount.
   */
  checkConnection?(ctx: StorageContext): Promise<boolean>;
  /** Definition checks beyond the schema; throws `InvalidConfigError`. */
  checkDefinition?(ctx: StorageContext): void;
}

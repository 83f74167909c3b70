/**
 * @corral/plugin-storage-nfs: Proxmox's `nfs` storage type for Corral.
 *
 * @packageDocumentation
 */
export {
  storageNfsPlugin,
  createStorageNfsPlugin,
} from "./storageNfsPlugin.js";
export { NfsStorageDriver } from "./NfsStorageDriver.js";
export { NFS_STORAGE_INFO } from "./nfsStorageInfo.js";
export {
  nfsOptionsSchema,
  nfsOptions,
  parseContentDirs,
  type NfsOptions,
} from "./nfsOptions.js";
export { KernelNfsMounter, type NfsMounter } from "./NfsMounter.js";
export {
  nfsIsMounted,
  nfsMountArgv,
  nfsSource,
  type NfsMountSpec,
} from "./nfsMount.js";
export {
  parseProcMounts,
  readProcMounts,
  type MountEntry,
} from "./procMounts.js";
export {
  nfsProbeArgv,
  nfsServerReachable,
  parseShowmountExports,
} from "./nfsProbe.js";
export { nfsQemuAccess, type NfsFileLocation } from "./nfsAccess.js";
export { NfsLayout, NFS_CONTENT_SUBDIRS } from "./NfsLayout.js";
export {
  parseNfsVolname,
  nfsImageVolname,
  toParsedVolname,
  type NfsVolname,
} from "./nfsVolname.js";

/**
 * @corral/plugin-storage-nfs: Proxmox's network-share storage types `nfs` and `cifs` for
 * Corral (two plugins on core's mounted-share driver, `ShareStorageDriver`).
 *
 * @packageDocumentation
 */
export { storageNfsPlugin, createStorageNfsPlugin } from './storageNfsPlugin.js';
export { storageCifsPlugin, createStorageCifsPlugin } from './storageCifsPlugin.js';
export { NFS_SHARE_TYPE } from './nfsShareType.js';
export { CIFS_SHARE_TYPE, CIFS_STORAGE_INFO } from './cifsShareType.js';
export { NFS_STORAGE_INFO } from './nfsStorageInfo.js';
export { nfsOptionsSchema, nfsMountSpec } from './nfsOptions.js';
export { cifsOptionsSchema, cifsMountSpec, SMB_VERSIONS, type CifsMountSpec } from './cifsOptions.js';
export { nfsMountArgv, nfsShareMount, nfsSource, type NfsMountSpec } from './nfsMount.js';
export { cifsMountArgv, cifsShareMount, cifsSource, cifsUsesKerberos } from './cifsMount.js';
export { cifsProbeArgv, cifsShareReachable } from './cifsProbe.js';
export { nfsProbeArgv, nfsServerReachable, parseShowmountExports } from './nfsProbe.js';
export { nfsQemuAccess, nfsShareQemuAccess, type NfsFileLocation } from './nfsQemuAccess.js';

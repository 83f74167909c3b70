/**
 * @corral/plugin-storage-nfs: Proxmox's network-share storage types `nfs` and `cifs` for
 * Corral (two plugins sharing one file-layout driver).
 *
 * @packageDocumentation
 */
export { storageNfsPlugin, createStorageNfsPlugin } from './storageNfsPlugin.js';
export { storageCifsPlugin, createStorageCifsPlugin } from './storageCifsPlugin.js';
export { ShareStorageDriver } from './ShareStorageDriver.js';
export type { ShareType } from './ShareType.js';
export { NFS_SHARE_TYPE } from './nfsShareType.js';
export { CIFS_SHARE_TYPE, CIFS_STORAGE_INFO } from './cifsShareType.js';
export { NFS_STORAGE_INFO } from './nfsStorageInfo.js';
export { shareStorageInfo } from './shareStorageInfo.js';
export { nfsOptionsSchema, nfsMountSpec } from './nfsOptions.js';
export { cifsOptionsSchema, cifsMountSpec, SMB_VERSIONS, type CifsMountSpec } from './cifsOptions.js';
export { SHARE_OPTION_PROPERTIES, SERVER_OPTION, serverAddress, shareOptions, type ShareOptions } from './shareOptions.js';
export { KernelShareMounter, writeShareFiles, type ShareMounter } from './ShareMounter.js';
export { isShareMounted, type ShareMount } from './ShareMount.js';
export { nfsMountArgv, nfsShareMount, nfsSource, type NfsMountSpec } from './nfsMount.js';
export { cifsMountArgv, cifsShareMount, cifsSource, cifsUsesKerberos } from './cifsMount.js';
export { cifsProbeArgv, cifsShareReachable } from './cifsProbe.js';
export { parseProcMounts, readProcMounts, type MountEntry } from './procMounts.js';
export { nfsProbeArgv, nfsServerReachable, parseShowmountExports } from './nfsProbe.js';
export { nfsQemuAccess, type NfsFileLocation } from './shareAccess.js';
export { ShareLayout } from './ShareLayout.js';
export { parseShareVolname, shareImageVolname, toParsedVolname, type ShareVolname } from './shareVolname.js';

/**
 * @corral/plugin-storage-iscsi: Proxmox's `iscsi` and `iscsidirect` storage types for Corral:
 * the LUNs of an iSCSI target as raw volumes.
 *
 * @packageDocumentation
 */
export { storageIscsiPlugin } from './storageIscsiPlugin.js';
export { IscsiDirectStorageDriver, qemuIscsiAccess } from './IscsiDirectStorageDriver.js';
export { ISCSI_DIRECT_STORAGE_INFO, ISCSI_STORAGE_INFO } from './iscsiStorageInfo.js';
export { iscsiOptionsSchema, iscsiOptions, iscsiUrl, ISCSI_DEFAULT_PORT, type IscsiOptions } from './iscsiOptions.js';
export { parseIscsiVolname, parseIscsiDirectVolname, type IscsiVolname, type IscsiDirectVolname } from './iscsiVolname.js';
export { parseIscsiLs, parseReadCapacity16, type IscsiLsLun, type IscsiLsTarget } from './parseLibiscsi.js';
export { listTargetLuns, listDiskLuns, lunSize, libiscsiFailure, LIBISCSI_TIMEOUT_MS, type TargetLun } from './libiscsi.js';
export { exportQemuRawSize, EXPORT_CHUNK_BYTES } from './rawSizeExport.js';
export { IscsiStorageDriver, type IscsiStorageDriverOptions } from './IscsiStorageDriver.js';
export {
  parseIscsiSessions,
  parseIscsiTargets,
  portalWithPort,
  listIscsiSessions,
  iscsiPortals,
  discoverIscsiTargets,
  loginIscsiTarget,
  logoutIscsiTarget,
  rescanIscsiSessions,
  ISCSIADM_TIMEOUT_MS,
  type IscsiSession,
} from './iscsiadm.js';
export { listIscsiDevices, checkIscsiDevice, type HostRoots, type IscsiDevice } from './iscsiDevices.js';
export { IscsiLunDriver } from './IscsiLunDriver.js';

/**
 * @corral/plugin-storage-ceph: Proxmox's `rbd` storage type (Ceph RADOS block devices) for Corral.
 *
 * @packageDocumentation
 */
export { storageCephPlugin } from './storageCephPlugin.js';
export { RbdStorageDriver, type RbdStorageDriverOptions } from './RbdStorageDriver.js';
export { RBD_STORAGE_INFO } from './rbdStorageInfo.js';
export { rbdOptionsSchema, rbdOptions, parseMonhost, formatMonitor, type RbdOptions, type MonitorAddress } from './rbdOptions.js';
export { parseRbdVolname, rbdBaseName, isRbdVolumeName, type RbdVolname } from './rbdVolname.js';
export { RbdCommands, imageSpec, poolSpec, type RbdLocation } from './RbdCommands.js';
export { prepareRbdConnection, connectionArgs, keyringText, DEFAULT_CEPH_CONF, type RbdConnection } from './RbdConnection.js';
export { rbdQemuAccess, type RbdQemuAccessOptions } from './rbdQemuAccess.js';
export { mapRbdError, rbdFailure, rbdErrorText, type RbdFailure, type RbdErrorContext } from './rbdErrors.js';
export {
  parseRbdList,
  parseRbdInfo,
  parseRbdSnapshots,
  parseRbdChildren,
  parseRbdShowmapped,
  parseCephDf,
  type RbdListEntry,
  type RbdImageInfo,
  type RbdSnapshot,
  type RbdMapping,
  type RbdParent,
  type CephPoolUsage,
} from './parseRbdJson.js';
export type { RbdDriverConfig } from './RbdSession.js';
export { mapRbdImage, unmapAll } from './rbdKrbd.js';
export { RbdSession } from './RbdSession.js';

/**
 * @corral/plugin-storage-dir: Proxmox's `dir` storage type for Corral.
 *
 * @packageDocumentation
 */
export { storageDirPlugin } from './storageDirPlugin.js';
export { DirStorageDriver } from './DirStorageDriver.js';
export { DIR_STORAGE_INFO } from './dirStorageInfo.js';
export { dirOptionsSchema, dirOptions, type DirOptions } from './dirOptions.js';
export { DirLayout } from './DirLayout.js';
export {
  parseDirVolname,
  parseImageName,
  imageVolname,
  toParsedVolname,
  IMAGE_NAME_RE,
  DIR_IMAGE_FORMATS,
  type DirVolname,
} from './dirVolname.js';
export { NbdClient, NBD_MAX_REQUEST_BYTES } from './NbdClient.js';
export { withNbdExport, type NbdExportOptions } from './withNbdExport.js';
export { readQcow2Header } from './imageFileInfo.js';
export type { ImageHeaderFacts } from './ImageHeaderCache.js';

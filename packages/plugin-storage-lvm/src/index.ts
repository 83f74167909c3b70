/**
 * @corral/plugin-storage-lvm: Proxmox's `lvm` and `lvmthin` storage types for Corral, one
 * package with two plugins (they share LVM's commands, reports and errors, and plugins may
 * not depend on each other).
 *
 * @packageDocumentation
 */
export { storageLvmPlugin, storageLvmThinPlugin } from './storageLvmPlugins.js';
export { LvmStorageDriver } from './LvmStorageDriver.js';
export { LvmThinStorageDriver } from './LvmThinStorageDriver.js';
export { LvmDriverBase, type LvmStorageDriverOptions } from './LvmDriverBase.js';
export { LVM_STORAGE_INFO, LVMTHIN_STORAGE_INFO } from './lvmStorageInfo.js';
export { lvmOptionsSchema, lvmThinOptionsSchema, lvmOptions, LVM_NAME_PATTERN, type LvmOptions } from './lvmOptions.js';
export { parseLvmVolname, parseLvmThinVolname, thinSnapshotLv, parseThinSnapshotLv, lvmBaseName, type LvmVolname } from './lvmVolname.js';
export { LvmCommands, LV_COLUMNS, VG_COLUMNS, lvmKiB } from './LvmCommands.js';
export { parseLvsReport, parseVgsReport, type LvmLv, type LvmVg } from './parseLvmReport.js';
export { mapLvmError, lvmFailure, lvmErrorLine, type LvmFailure, type LvmErrorContext } from './lvmErrors.js';
export { LvmSession, type LvmDriverConfig, type LvmStorageType } from './LvmSession.js';

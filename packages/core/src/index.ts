/**
 * @corral/core: the Corral kernel, the plugin contract, the driver contracts (hypervisors,
 * storage, network zones, firewall backends, cluster stores), Proxmox's text formats, the
 * config store, locks, tasks, events and the command runner.
 *
 * @packageDocumentation
 */
import 'reflect-metadata';

export * from './errors.js';

// kernel and plugins
export { createKernel, type Kernel, type KernelOptions, type KernelPluginReport } from './kernel/createKernel.js';
export { coreServices, extensionPoints, infrastructureServices } from './kernel/coreRefs.js';
export { definePlugin, isCorralPlugin, PLUGIN_BRAND, type CorralPlugin, type InfrastructureEnvironment, type PluginDefinition, type PluginEnvironment } from './plugin/definePlugin.js';
export {
  checkPluginApiVersion,
  CURRENT_PLUGIN_API_WINDOW,
  PLUGIN_API_AGE,
  PLUGIN_API_VERSION,
  type ApiCompatibility,
  type PluginApiWindow,
} from './plugin/PluginApiVersion.js';
export { createExtensionPoint, createServiceRef, type ExtensionPointRef, type ServiceRef } from './plugin/refs.js';
export { discoverPlugins, type CorralPackageBlock, type DiscoveryFailure, type DiscoveryResult } from './plugin/discoverPlugins.js';
export type { PluginCandidate, PluginLoadReport, PluginLoadResult, PluginSource } from './plugin/PluginLoader.js';
export { ServiceRegistry } from './plugin/ServiceRegistry.js';

// contracts
export * from './contracts/storage.js';
export { BaseStorageDriver } from './contracts/BaseStorageDriver.js';
export { guestPrivilegedUses, privilegedOptionUses } from './contracts/declaredPrivileges.js';
export * from './contracts/hypervisor.js';
export * from './contracts/network.js';
export { checkGuestNics } from './network/checkGuestNics.js';
export { guestNicOptions, type NetPortProperties } from './network/guestNicOptions.js';
export { LinuxBridgeNicPlugger, type LinuxBridgeNicPluggerOptions } from './network/LinuxBridgeNicPlugger.js';
export { checkInterfaceName, firewallPortNames, MAX_IFNAME_LENGTH, nicIndex, type FirewallPortNames } from './network/nicPortNames.js';
export * from './contracts/firewall.js';
export * from './contracts/cluster.js';

// exec
export type { CommandRunner, RunOptions, RunResult } from './exec/CommandRunner.js';
export { DEFAULT_MAX_OUTPUT_BYTES, NodeCommandRunner, type NodeCommandRunnerOptions } from './exec/NodeCommandRunner.js';

// formats
export * from './formats/index.js';

// config, locks, tasks, events, node
export type { ConfigChange, ConfigFile, ConfigStore, ConfigTxOp, ConfigTxResult, ConfigWriteOptions } from './config/ConfigStore.js';
export { moveConfigFile } from './config/moveConfigFile.js';
export * from './config/LocalConfigStore.js';
export { transactionSettled, writeSettled } from './config/writeSettled.js';
export { validateConfigPath, MAX_CONFIG_SEGMENT_BYTES } from './config/validateConfigPath.js';
export * from './locks/LockManager.js';
export * from './locks/LocalLockManager.js';
export * from './locks/HostLockManager.js';
export { acquireHostLock, defaultHostLockDirectory, type HostLockOptions } from './locks/acquireHostLock.js';
export * from './locks/guestLock.js';
export * from './tasks/Upid.js';
export { checkUserid, MAX_USERID_LENGTH } from './tasks/checkUserid.js';
export * from './tasks/TaskManager.js';
export * from './events/CorralEvents.js';
export * from './events/EventBus.js';
export * from './node/NodeInfoService.js';
export { isMountpoint, parseMountInfo, readMountInfo, unescapeMountField, type MountInfoEntry } from './node/mountInfo.js';

// facades
export {
  StorageFacade,
  checkSnapshotName,
  type AllocateVolumeOptions,
  type CopyVolumeOptions,
  type OwnedVolumes,
  type StorageDefinitionOptions,
  type StorageSummary,
  type StorageFacadeDeps,
} from './storage/StorageFacade.js';
export { parseVolumeId, formatVolumeId, checkVolname, MAX_VOLUME_ID_LENGTH, STORAGE_ID_PATTERN, type VolumeId } from './storage/volumeId.js';
export type { VolumeAttributeValues } from './storage/VolumeAttributes.js';
export { COMMON_TAR_FLAGS, copySizedBody, encodeSizeHeader, endStream, readSizeHeader, writeChunk, writeFileBytes, writeSizedBodyToNewFile, type SizedStreamBody } from './storage/transferStreams.js';
export { toStorageDefinition } from './storage/storageDefinitions.js';
export { BWLIMIT_KEYS, PROXMOX_CONTENT_TYPES, PROXMOX_STORAGE_TYPES, type ProxmoxContent, type ProxmoxStorageType } from './storage/proxmoxStorageTypes.js';
export {
  copyBandwidthLimit,
  directoryCreation,
  isMountpointSchema,
  proxmoxBooleanSchema,
  storageBandwidthLimit,
  storageFlag,
  storageMountpoint,
  type BandwidthOperation,
} from './storage/storageOptionValues.js';
export {
  BACKUP_FILE_RE,
  contentDirOverrides,
  contentSubdir,
  FILE_CONTENT_SUBDIRS,
  FILE_CONTENT_TYPES,
  FileContentLayout,
  IMPORT_FILE_RE,
  isListedFile,
  ISO_FILE_RE,
  LISTED_IMPORT_FILE_RE,
  parseFileVolname,
  refuseArchiveMember,
  statFileVolume,
  UPLOAD_FILE_RULES,
  UPLOAD_IMPORT_FILE_RE,
  VZTMPL_FILE_RE,
  type FileContent,
  type FileVolname,
} from './storage/fileStorageContent.js';
export { writeNewFile } from './storage/writeNewFile.js';
export { BandwidthLimitStream, type BandwidthClock } from './storage/BandwidthLimitStream.js';
// mounted-share storages (nfs, cifs, glusterfs plugins): the driver and its parts
export { ShareStorageDriver } from './storage/share/ShareStorageDriver.js';
export type { ShareType } from './storage/share/ShareType.js';
export type { ShareFile } from './storage/share/shareAccess.js';
export { isShareMounted, type ShareMount } from './storage/share/ShareMount.js';
export { KernelShareMounter, writeShareFiles, type ShareMounter } from './storage/share/ShareMounter.js';
export { parseProcMounts, readProcMounts, type MountEntry } from './storage/share/procMounts.js';
export { ShareLayout } from './storage/share/ShareLayout.js';
export { parseShareVolname, shareImageVolname, toParsedVolname, type ShareVolname } from './storage/share/shareVolname.js';
export { SHARE_OPTION_PROPERTIES, SERVER_OPTION, serverAddress, shareOptions, type ShareOptions } from './storage/share/shareOptions.js';
export { shareStorageInfo } from './storage/share/shareStorageInfo.js';
export {
  GuestFacade,
  type CloneGuestOptions,
  type CreateGuestOptions,
  type DestroyGuestOptions,
  type GuestConfigChange,
  type GuestConfigView,
  type GuestFacadeDeps,
  type GuestListEntry,
  type GuestOperationOptions,
  type GuestRescanChange,
  type GuestTaskResult,
  type GuestUnlockResult,
  type GuestUpdateResult,
  type RescanOptions,
  type RescanResult,
  type SnapshotGuestOptions,
  type DeleteSnapshotOptions,
} from './guests/GuestFacade.js';
export { checkVmid } from './guests/GuestConfigRepository.js';
export { GUEST_CONFIG_DIRS, guestConfigDir, guestConfigPath } from './guests/guestConfigPaths.js';
export { BUILTIN_GUEST_TYPES, guestTypeTraits, type GuestTypeTraits } from './guests/guestTypes.js';
export * from './guests/allocateVmid.js';
export { isUnusedKey } from './guests/guestVolumes.js';

// callers and privileges
export {
  assertPrivileged,
  checkCaller,
  DEFAULT_CALLER,
  isPrivileged,
  privilegedCaller,
  ROOT_CALLER,
  unprivilegedCaller,
  type Caller,
  type PrivilegedUse,
} from './security/Caller.js';

export { checkHostPath } from './security/hostPath.js';

// utilities
export { MemoryLogger, silentLogger, type Logger } from './util/Logger.js';
export { Reverter, withReverter, type ReverterOptions } from './util/Reverter.js';

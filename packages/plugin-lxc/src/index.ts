/**
 * @corral/plugin-lxc: LXC system containers in Proxmox VE's vocabulary (pve-container):
 * Proxmox container configs turned into LXC configs, lifecycle, live resource limits,
 * snapshots and clones through storage, a console stream, exec.
 *
 * ```ts
 * const kernel = await createKernel({ ..., plugins: [storageDirPlugin, lxcPlugin] });
 * await kernel.guests.create('lxc', { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:1', hostname: 'ct1' });
 * ```
 *
 * @packageDocumentation
 */
export { lxcPlugin, createLxcPlugin } from './lxcPlugin.js';
export { LxcHypervisorDriver, LXC_CREATE_PARAMETERS, type LxcHypervisorDriverOptions } from './LxcHypervisorDriver.js';
export { buildLxcConfig, derivedMac, ipv4Broadcast, vethName, type LxcConfigInput, type ResolvedMount } from './config/buildLxcConfig.js';
export { limitSettings, rawCgroupSettings, orderMemoryWrites, expandCpuList, DEFAULT_MEMORY_MIB, DEFAULT_SWAP_MIB, CFS_PERIOD_US, type CgroupHost, type CgroupSetting } from './config/cgroupLimits.js';
export { parseContainerConfig, toEntryList, type ContainerConfig, type ContainerMountPoint, type ContainerNet } from './config/parseContainerConfig.js';
export { DEFAULT_UNPRIVILEGED_IDMAP, parseIdMapEntry, mapIdToHost, containerRootOnHost, type IdMapEntry } from './config/idmap.js';
export { HostCgroups, ContainerCgroup, payloadPath, type CgroupVersion, type HostCgroupsOptions } from './host/HostCgroups.js';
export { checkSubordinateIds, type SubordinateIdFiles } from './host/subordinateIds.js';
export { ContainerRunDir, type ContainerNics, type ContainerRunState } from './runtime/ContainerRunDir.js';
export { LxcTools, CONTAINER_PATH, type LxcState } from './runtime/LxcTools.js';
export { RootfsFiles } from './setup/RootfsFiles.js';
export { sha512Crypt, randomCryptSalt } from './setup/sha512Crypt.js';
export { shiftOwnership, type ShiftResult } from './setup/shiftOwnership.js';
export { extractTemplateArgv } from './setup/extractTemplate.js';

/**
 * @corral/plugin-kvm: QEMU/KVM guests in Proxmox qemu-server's vocabulary. Config to command
 * line, the accelerator choice (a real KVM probe, TCG fallback, `CORRAL_QEMU_ACCEL`),
 * lifecycle through QMP, snapshots (with RAM state), templates and clones through storage,
 * disk and NIC hotplug, VNC and serial consoles, the guest agent, and resource control
 * (systemd scopes or cgroup v1).
 *
 * @packageDocumentation
 */
export { createKvmPlugin, kvmPlugin, type KvmPluginOptions } from './plugin.js';
export { QemuHypervisorDriver, type QemuDriverOptions } from './QemuHypervisorDriver.js';
export { buildQemuCommandLine, DEFAULT_QEMU_BINARY, type QemuCommandLine, type QemuCommandLineInput, type QemuHostFeatures, type OvmfFirmware } from './cmdline/QemuCommandLine.js';
export { qemuBlockGraph, HOST_CDROM_ACCESS, type BlockDriveFields, type BlockdevOptions, type QemuBlockGraph, type BlockGraphOptions } from './cmdline/QemuBlockdev.js';
export { tapName, renderDevice, type QemuDevice } from './cmdline/QemuDevices.js';
export type * from './config/QemuConfig.js';
export { parseQemuConfig, derivedMac, QEMU_METADATA_KEYS, QEMU_UNSUPPORTED_KEYS } from './config/parseQemuConfig.js';
export { splitArgs } from './config/splitArgs.js';
export { qemuRunPaths, type QemuRunPaths } from './runtime/QemuRunPaths.js';
export { probeHostFeatures, type HostFeatureProbeOptions } from './runtime/probeHostFeatures.js';
export { KvmProbe, KVM_PROBE_CACHE_FILE, KVM_PROBE_DEFAULT_CPU, KVM_PROBE_TIMEOUT_MS, KVM_PROBE_TIMEOUT_TTL_MS, type KvmProbeOptions, type KvmProbeResult } from './runtime/KvmProbe.js';
export { acceleratorStatus, kvmProbeReason, type QemuAcceleratorStatus } from './runtime/acceleratorStatus.js';
export { acceleratorMode, checkAcceleratorMode, ACCELERATOR_ENV, type AcceleratorMode, type AcceleratorModeChoice } from './runtime/acceleratorMode.js';
export type { QemuRuntimeRecord } from './runtime/QemuRuntimeRecord.js';
export type { ResourceControl, ResourceLimits, ResourcePlacement } from './resources/ResourceControl.js';
export { NoResourceControl } from './resources/ResourceControl.js';
export { CgroupV1Placement, CFS_PERIOD_US, type CgroupV1PlacementOptions } from './resources/CgroupV1Placement.js';
export { SystemdScope, type SystemdScopeOptions } from './resources/SystemdScope.js';
export { selectResourceControl, type ResourceControlMode, type ResourceControlOptions } from './resources/selectResourceControl.js';
// QMP and guest agent clients with their option, result and event types. The transport
// helpers of src/qmp (JsonLineConnection, waitFor, delay) stay internal.
export * from './qmp/QmpTypes.js';
export * from './qmp/QmpClient.js';
export * from './qmp/QgaClient.js';
export * from './qmp/connectWithRetry.js';
export type { WaitOptions } from './qmp/waitFor.js';

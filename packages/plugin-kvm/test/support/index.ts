/**
 * Test helpers of plugin-kvm, for the QMP tests and the hypervisor tests to come: the test
 * guest image and its boot, QEMU processes, the serial console protocol, a scripted QMP peer
 * and recorded QMP lines.
 *
 * @packageDocumentation
 */
export * from './QemuProcess.js';
export * from './SerialConsole.js';
export * from './guestMarkers.js';
export * from './spawnTestGuest.js';
export * from './testGuestImage.js';
export * from './ScriptedQmpServer.js';
export * from './qmpRecordings.js';

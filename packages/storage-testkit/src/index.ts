/**
 * @corral/storage-testkit: the conformance suite of Corral's storage-driver contract. One call,
 * {@link storageConformanceSuite}, registers every check as an ava test for the driver under
 * test. Helpers that read and write bytes through a resolved volume are exported for a
 * driver's own tests.
 *
 * @packageDocumentation
 */
export { storageConformanceSuite } from './storageConformanceSuite.js';
export type { StorageConformanceOptions, StorageUnderTest, DriverSpy } from './ConformanceEnv.js';
export { ConformanceEnv, capabilityName } from './ConformanceEnv.js';
export { ALLOCATING_CHECKS, CONFORMANCE_CHECKS, NO_ALLOCATION_CHECK, type ConformanceCheckId } from './checkIds.js';
export { hasPattern, writePattern, readMarkerFile, writeMarkerFile, MiB, type BytePattern } from './volumeBytes.js';
export { bufferStream, collectStream, sizeHeader } from './streams.js';

/**
 * Test helpers for Corral and its plugins: `import { createTestKernel } from '@corral/core/testing'`.
 *
 * @packageDocumentation
 */
export { createTestKernel, type TestKernel } from './createTestKernel.js';
export { makeTempDir, uniqueName } from './tempDir.js';
export { RecordingCommandRunner, type RecordedCall, type ScriptedCommand } from './RecordingCommandRunner.js';
export { hasProgram, realComponentsRequired, realTest, requireReal, type RealTestFn } from './requireReal.js';
export { SeededRandom } from './SeededRandom.js';
export { runningInCi, seedsFor, testSeeds, type TestSeedOptions, type TestSeeds } from './testSeeds.js';
export { runTool, runToolOk, type RunToolOptions, type RunToolResult } from './runTool.js';
export { spawnChild, type Child } from './spawnChild.js';
export { checkStorageCfgSamplesLoad, loadStorageCfgSamples, PROXMOX_STORAGE_CFG_SAMPLES, type LoadedStorageCfgSample, type StorageCfgSample } from './proxmoxStorageCfgCorpus.js';

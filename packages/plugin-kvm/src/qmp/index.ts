/**
 * QMP and guest agent clients of plugin-kvm (no dependencies besides `@corral/core`).
 *
 * @packageDocumentation
 */
export * from './QmpTypes.js';
export * from './QmpClient.js';
export * from './connectWithRetry.js';
export * from './QgaClient.js';
export { JsonLineConnection, DEFAULT_MAX_LINE_BYTES, NOT_LISTENING_CODES } from './JsonLineConnection.js';
export type { JsonObject, JsonLineHandlers, JsonLineOpenOptions } from './JsonLineConnection.js';
export { waitFor, delay } from './waitFor.js';
export type { WaitOptions } from './waitFor.js';

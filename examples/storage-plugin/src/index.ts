/**
 * corral-example-storage-plugin: a third-party storage plugin for Corral, built on the public
 * API of `@corral/core` only. Storage type `flatdir`: sparse raw images in a flat directory.
 *
 * The kernel imports this module when it discovers the package (`"corral": { "plugins":
 * ["./dist/src/index.js"] }` in package.json) and loads every plugin value it exports.
 *
 * @packageDocumentation
 */
export { storageFlatPlugin } from './storageFlatPlugin.js';
export { FlatStorageDriver } from './FlatStorageDriver.js';
export { FLAT_STORAGE_INFO } from './flatStorageInfo.js';
export { flatOptionsSchema } from './flatOptions.js';
export { flatVolname, matchFlatVolname, parseFlatVolname } from './flatVolname.js';
export { exportRawSize, importRawSize } from './rawSizeStream.js';

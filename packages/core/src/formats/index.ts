/**
 * Proxmox VE's text formats: property strings and sizes, guest `.conf` files, section config
 * files (`storage.cfg`), and the typed schemas of guest config keys.
 *
 * @packageDocumentation
 */
export * from './propertyString.js';
export * from './proxmoxText.js';
export { CONFIG_LIMITS, describeCharAt, findForbiddenChar, forbiddenCharProblem, type ForbiddenCharOptions } from './configText.js';
export * from './guestConfig.js';
export * from './configEntries.js';
export * from './sectionConfig.js';
export * from './schema/index.js';
export { splitList } from './schema/pveFormats.js';

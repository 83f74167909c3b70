/**
 * The plugin API version window (Proxmox pve-storage's APIVER/APIAGE).
 *
 * Core provides API {@link PLUGIN_API_VERSION} and still accepts plugins written for any
 * version down to `PLUGIN_API_VERSION - PLUGIN_API_AGE`. A plugin newer than core, or older
 * than that, is refused with a coded error; an older accepted one loads with a warning. Every
 * change of either number is recorded, with old and new signatures, in API-CHANGELOG.md.
 */

/** The plugin API version this core provides. Raise it on every contract change. */
export const PLUGIN_API_VERSION = 3;

/**
 * How many versions back plugins keep working. Raise together with
 * {@link PLUGIN_API_VERSION} on an additive change; reset to 0 on a breaking one. 2 since
 * version 3 only added optional members (`StorageDriver.infoFor`, `StorageDriver.copyVolume`)
 * on top of version 2, whose additions had been made optional for version 1 plugins (the
 * fixture `storage-plugin-api1` in the integration tests keeps that true).
 */
export const PLUGIN_API_AGE = 2;

/** A version window: accepts `version - age` ..= `version`. */
export interface PluginApiWindow {
  readonly version: number;
  readonly age: number;
}

/** The window of this core. */
export const CURRENT_PLUGIN_API_WINDOW: PluginApiWindow = Object.freeze({ version: PLUGIN_API_VERSION, age: PLUGIN_API_AGE });

/** Where a plugin's apiVersion stands in a window. */
export type ApiCompatibility = 'current' | 'older-accepted' | 'too-new' | 'too-old';

/** Classifies `apiVersion` against `window`. */
export function checkPluginApiVersion(apiVersion: number, window: PluginApiWindow = CURRENT_PLUGIN_API_WINDOW): ApiCompatibility {
  if (apiVersion > window.version) return 'too-new';
  if (apiVersion < window.version - window.age) return 'too-old';
  return apiVersion === window.version ? 'current' : 'older-accepted';
}

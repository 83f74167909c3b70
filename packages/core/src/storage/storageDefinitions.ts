import { Value } from '@sinclair/typebox/value';
import { InvalidConfigError } from '../errors.js';
import { STORAGE_CONTENT_TYPES, type StorageContent, type StorageDefinition, type StorageDriverInfo } from '../contracts/storage.js';
import { COMMON_PROXMOX_OPTIONS, CORE_CHECKED_OPTIONS, PROXMOX_OPTION_CHECKS, proxmoxStorageType } from './proxmoxStorageTypes.js';
import { storageFlag } from './storageOptionValues.js';

/** Options every storage type accepts, on top of its driver's schema. */
export const COMMON_STORAGE_OPTIONS = COMMON_PROXMOX_OPTIONS;

/** Converts a user-given option value to the string storage.cfg holds. */
export function optionToString(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function parseList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function corralContent(items: readonly string[], holds: readonly StorageContent[]): StorageContent[] {
  return items.filter((c): c is StorageContent => STORAGE_CONTENT_TYPES.includes(c as StorageContent) && holds.includes(c as StorageContent));
}

/**
 * Content types added to the contract after drivers were written (`import`): a section may
 * name one that Proxmox's type holds although the driver does not declare it; it is kept in
 * `options.content` and left out of the definition's `content`, as before the type existed.
 */
const LATER_CONTENT: readonly StorageContent[] = ['import'];

/**
 * Builds a {@link StorageDefinition} from storage.cfg options, applying the driver's
 * defaults. Never throws: `content` keeps the types the driver holds (a content type it does
 * not declare, such as `import` on a driver that predates it, stays in `options` only); check the options first
 * (storage.cfg reading and `kernel.storage.add` do). Flags written as a key
 * alone (`disable`) are true.
 */
export function toStorageDefinition(id: string, info: StorageDriverInfo, options: Readonly<Record<string, string>>): StorageDefinition {
  const content = options.content === undefined ? [...info.defaultContent] : corralContent(parseList(options.content), info.contentTypes);
  return {
    id,
    type: info.type,
    content,
    nodes: parseList(options.nodes),
    disabled: storageFlag(options.disable) ?? false,
    shared: storageFlag(options.shared) ?? info.shared,
    options,
  };
}

/**
 * The definition of a storage whose type no loaded plugin provides (a Proxmox `lvmthin`, `nfs`
 * ... section while no such driver is installed): content and `shared` as Proxmox's type has
 * them (`PROXMOX_STORAGE_TYPES`), else as written. Such a storage is listed and kept,
 * and inactive.
 */
export function definitionWithoutDriver(id: string, type: string, options: Readonly<Record<string, string>>): StorageDefinition {
  const px = proxmoxStorageType(type);
  const written = options.content === undefined ? (px?.defaultContent ?? []) : parseList(options.content);
  return {
    id,
    type,
    content: corralContent(written, STORAGE_CONTENT_TYPES),
    nodes: parseList(options.nodes),
    disabled: storageFlag(options.disable) ?? false,
    shared: storageFlag(options.shared) ?? px?.shared ?? false,
    options,
  };
}

/** What is wrong with a storage's options: the option (`key`), its value and a message naming the storage. */
export interface StorageOptionProblem {
  readonly key: string;
  readonly value: string | undefined;
  readonly message: string;
}

function contentProblem(type: string, value: string, info: StorageDriverInfo | undefined): string | undefined {
  const px = proxmoxStorageType(type);
  for (const c of parseList(value)) {
    if (c === 'none') {
      if (px && !px.content.includes('none')) return `type '${type}' cannot be without content ('none')`;
      continue;
    }
    const corral = STORAGE_CONTENT_TYPES.includes(c as StorageContent);
    const later = LATER_CONTENT.includes(c as StorageContent) && (px?.content.includes(c as never) ?? false);
    if (info && corral && !later && !info.contentTypes.includes(c as StorageContent)) return `type '${type}' cannot hold content '${c}' (it can hold: ${info.contentTypes.join(', ')})`;
    if (px && !px.content.includes(c as never)) return `type '${type}' cannot hold content '${c}' (Proxmox's ${type} holds: ${px.content.join(', ')})`;
    if (!px && !corral) return `type '${type}' cannot hold content '${c}' (it can hold: ${(info?.contentTypes ?? STORAGE_CONTENT_TYPES).join(', ')})`;
  }
  return undefined;
}

/**
 * Checks the options of a storage of `type` as Proxmox VE and the driver do: the options a
 * loaded driver declares (its `optionsSchema`, authoritative for its own options), the options
 * Proxmox's type of that name accepts (see `PROXMOX_STORAGE_TYPES`: `bwlimit`, `content-dirs`,
 * `prune-backups`, `maxfiles`...), and the common ones (`content`, `nodes`, `disable`,
 * `shared`). `bwlimit` is checked by core's one rule for every type, also when the driver's
 * schema declares it (see `CORE_CHECKED_OPTIONS`). Without a driver (`info` undefined) options unknown to Proxmox are accepted (the
 * driver may add its own) and the known ones are checked.
 *
 * @returns The first problem, in file order, or `undefined`.
 */
export function storageOptionsProblem(
  id: string,
  type: string,
  options: Readonly<Record<string, string>>,
  info: StorageDriverInfo | undefined,
): StorageOptionProblem | undefined {
  const px = proxmoxStorageType(type);
  const own = info?.optionsSchema.properties ?? {};
  const where = `storage '${id}' (${type})`;
  const known = (key: string) => Object.hasOwn(own, key) || COMMON_STORAGE_OPTIONS.includes(key) || (px?.options.includes(key) ?? false);
  if (info) {
    for (const key of Object.keys(options)) {
      if (!known(key)) {
        const names = [...new Set([...Object.keys(own), ...COMMON_STORAGE_OPTIONS, ...(px?.options ?? [])])].sort().join(', ');
        return { key, value: options[key], message: `storage '${id}': option '${key}' is not known for type '${type}' (known: ${names})` };
      }
    }
    for (const key of info.optionsSchema.required ?? []) {
      if (options[key] === undefined) return { key, value: undefined, message: `${where}: option '${key}' is required` };
    }
  }
  for (const [key, value] of Object.entries(options)) {
    let problem: string | undefined;
    if (Object.hasOwn(own, key)) problem = Value.Errors(own[key]!, value).First()?.message;
    if (!problem && (!Object.hasOwn(own, key) || CORE_CHECKED_OPTIONS.includes(key)) && (known(key) || !px)) {
      problem = Object.hasOwn(PROXMOX_OPTION_CHECKS, key) ? PROXMOX_OPTION_CHECKS[key]!(value) : undefined;
    }
    if (!problem && key === 'content') problem = contentProblem(type, value, info);
    if (!problem && key === 'format' && px?.formats && !px.formats.includes(value)) problem = `Proxmox's ${type} has no format '${value}' (formats: ${px.formats.join(', ')})`;
    if (problem) {
      const shown = key === 'content' && problem.startsWith('unknown content type') ? problem : `option '${key}' has invalid value '${value}': ${problem}`;
      return { key, value, message: `${where}: ${shown}` };
    }
  }
  return undefined;
}

/**
 * Validates a storage's options for its driver (see {@link storageOptionsProblem}). Values
 * are strings as in storage.cfg.
 *
 * @throws InvalidConfigError whose `key` is the first bad option and whose message names the storage.
 */
export function validateStorageOptions(id: string, info: StorageDriverInfo, options: Readonly<Record<string, string>>): void {
  const problem = storageOptionsProblem(id, info.type, options, info);
  if (problem) throw new InvalidConfigError(problem.key, problem.value, problem.message);
}

/**
 * Tables of the config keys a guest type knows, and the generic validation of a list of
 * config entries against such a table.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from '../../errors.js';
import { parsePendingDelete } from '../configEntries.js';
import { CONFIG_LIMITS, forbiddenCharProblem } from '../configText.js';
import { defineOwn } from '../defineOwn.js';
import type { ConfigEntry } from '../guestConfig.js';
import type { ConfigKeySpec } from './valueSchema.js';

/** Keys with a number suffix (`net0`..`net31`): the spec and how many there may be. */
export interface IndexedKeySpec<T = unknown> {
  /** Indices run from 0 to `count - 1`. */
  readonly count: number;
  readonly spec: ConfigKeySpec<T>;
}

/** The keys of one guest type. */
export interface GuestKeyTable {
  /** Keys without index (`memory`, `efidisk0`...). */
  readonly fixed: Readonly<Record<string, ConfigKeySpec<any>>>;
  /** Indexed keys by base name (`net` for `net0`..`net31`). */
  readonly indexed: Readonly<Record<string, IndexedKeySpec<any>>>;
}

/** The typed value a key spec parses to. */
export type SpecValue<S> = S extends ConfigKeySpec<infer T> ? T : never;

/** Typed values of a table: every fixed key and every `base<N>` key, all optional. */
export type TableValues<F extends Record<string, ConfigKeySpec<any>>, I extends Record<string, IndexedKeySpec<any>>> = {
  -readonly [K in keyof F]?: SpecValue<F[K]>;
} & {
  -readonly [K in keyof I as `${K & string}${number}`]?: SpecValue<I[K]['spec']>;
};

/**
 * Finds the spec of `key`: a fixed key, or an indexed key `base<N>` with N in range and
 * written without leading zeros.
 */
export function lookupKeySpec(table: GuestKeyTable, key: string): ConfigKeySpec<unknown> | undefined {
  if (Object.hasOwn(table.fixed, key)) return table.fixed[key];
  const match = /^([a-z_-]+?)(\d+)$/.exec(key);
  if (!match) return undefined;
  const [, base, digits] = match;
  if (!Object.hasOwn(table.indexed, base!)) return undefined;
  const indexed = table.indexed[base!]!;
  const index = Number(digits);
  if (String(index) !== digits || index >= indexed.count) return undefined;
  return indexed.spec;
}

/** Config entries as a list (`ConfigEntry[]`, as in a parsed section) or as a record. */
export type ConfigEntriesInput = readonly ConfigEntry[] | Readonly<Record<string, string>>;

/** Turns {@link ConfigEntriesInput} into a list. */
export function toEntryList(entries: ConfigEntriesInput): readonly ConfigEntry[] {
  if (Array.isArray(entries)) return entries as readonly ConfigEntry[];
  return Object.entries(entries as Record<string, string>).map(([key, value]) => ({ key, value }));
}

/** Hooks of {@link validateEntries} for what a table does not cover. */
export interface ValidateEntriesHooks {
  /** Human name of the guest type in messages (`VM`, `container`). */
  readonly what: string;
  /**
   * Handles a key before the table is consulted (`lxc.*`, `delete`). Returns true when it
   * took the entry.
   */
  readonly special?: (key: string, value: string, out: Record<string, unknown>) => boolean;
}

/**
 * Parses every entry with its key's spec.
 *
 * @returns The typed values by key, in entry order.
 * @throws InvalidConfigError naming the key and value for a key the table does not know, a
 *   repeated key, a non-string value, a value longer than `CONFIG_LIMITS.valueLength` or with
 *   a character no config value may hold (see `findForbiddenChar`), or an invalid value.
 */
export function validateEntries(table: GuestKeyTable, entries: ConfigEntriesInput, hooks: ValidateEntriesHooks): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const entry of toEntryList(entries)) {
    const { key, value } = entry;
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new InvalidConfigError(String(key), value, `config key '${String(key)}': value must be a string, got ${typeof value}`);
    }
    if (value.length > CONFIG_LIMITS.valueLength) {
      throw new InvalidConfigError(key, value, `value of '${key}' is longer than ${CONFIG_LIMITS.valueLength} characters`);
    }
    // A description is written as `#` lines, one per line: it may hold line feeds.
    const bad = forbiddenCharProblem(value, { newline: key === 'description' });
    if (bad) throw new InvalidConfigError(key, value, `value of '${key}' ${bad}`);
    if (hooks.special?.(key, value, out)) continue;
    if (seen.has(key)) throw new InvalidConfigError(key, value, `duplicate config key '${key}' (value '${value}')`);
    seen.add(key);
    const spec = lookupKeySpec(table, key);
    if (!spec) throw new InvalidConfigError(key, value, `unknown ${hooks.what} config key '${key}' (value '${value}')`);
    defineOwn(out, key, spec.parse(value, key));
  }
  return out;
}

/** Options of `validateQemuConfig` and `validateLxcConfig`. */
export interface ValidateGuestConfigOptions {
  /** The entries are a pending section: `delete` is allowed. */
  readonly pending?: boolean;
}

/** Handles `delete` for both guest types: only in pending sections, and only known keys. */
export function pendingDeleteHook(table: GuestKeyTable, options: ValidateGuestConfigOptions, isRawKey: (key: string) => boolean = () => false) {
  return (key: string, value: string, out: Record<string, unknown>): boolean => {
    if (key !== 'delete') return false;
    if (!options.pending) throw new InvalidConfigError(key, value, `'delete' (value '${value}') is only allowed in the pending section`);
    if (Object.hasOwn(out, 'delete')) throw new InvalidConfigError(key, value, `duplicate config key 'delete' (value '${value}')`);
    const list = parsePendingDelete(value);
    for (const { key: target } of list) {
      if (target !== 'description' && !isRawKey(target) && !lookupKeySpec(table, target)) {
        throw new InvalidConfigError(key, value, `'delete' names the unknown config key '${target}' (value '${value}')`);
      }
    }
    defineOwn(out, 'delete', list);
    return true;
  };
}

/**
 * Proxmox VE property strings: the comma-separated `key=value` lists inside config values,
 * such as `virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1` (a qemu `netN`) or
 * `local:100/vm-100-disk-0.qcow2,size=32G,cache=writeback` (a qemu disk).
 *
 * The rules are those of pve-common's `PVE::JSONSchema::parse_property_string`:
 * - parts are split on `,`; blank parts are skipped;
 * - `key=value` splits at the first `=` (the value may hold more `=`); key and value must be
 *   non-empty;
 * - a part without `=` is the value of the format's default key (`file` for disks, `model`
 *   for qemu nets, `volume` for container mount points), at most once;
 * - an alias key stores its value under another key; with a `keyAlias` it also stores its own
 *   name under that key (qemu's `virtio=MAC` means `model=virtio,macaddr=MAC`);
 * - a key given twice is an error.
 *
 * Values are kept as the strings written (booleans are not normalised), so
 * {@link printPropertyString} gives back the text Proxmox wrote. Typed parsing of known
 * formats lives in `schema/`.
 *
 * Sizes (`32G`, `512M`, bytes) use Proxmox's units K/M/G/T, base 1024:
 * {@link parseSize} and {@link formatSize}.
 *
 * @packageDocumentation
 */
import { InvalidArgumentError, InvalidConfigError } from '../errors.js';
import { CONFIG_LIMITS, forbiddenCharProblem } from './configText.js';
import { defineOwn } from './defineOwn.js';

/** An alias key of a property-string format (see {@link PropertyStringFormat.aliases}). */
export interface PropertyStringAlias {
  /** The key the value is stored under. */
  readonly alias: string;
  /** When set, the alias's own name is stored under this key (`virtio=MAC` → `model=virtio`). */
  readonly keyAlias?: string;
}

/** Describes one property-string format. Every field is optional. */
export interface PropertyStringFormat {
  /** Human name used in error messages when the caller gives no config key (e.g. `qemu net`). */
  readonly name?: string;
  /** The key whose value may be written without `key=` (Proxmox's `default_key`). */
  readonly defaultKey?: string;
  /** The keys the format knows (after alias resolution). Omitted: any key is accepted. */
  readonly keys?: readonly string[];
  /** Alias keys, by the name written in the string. */
  readonly aliases?: Readonly<Record<string, PropertyStringAlias>>;
}

/** Options of {@link parsePropertyString} and {@link printPropertyString}. */
export interface PropertyStringOptions {
  /** The config key holding the string (`net0`, `scsi1`...): named in errors. */
  readonly key?: string;
}

/** A parsed property string: values by key, in the order they were written. */
export type PropertyRecord = Record<string, string>;

const KEY_PATTERN = /^[^=,\s]+$/;

function errorKey(format: PropertyStringFormat, options: PropertyStringOptions): string {
  return options.key ?? format.name ?? 'property string';
}

/**
 * Parses a property string into an ordered record of its values.
 *
 * @param text - The value as written in the config, e.g. `virtio=BC:24:11:2A:3B:4C,bridge=vmbr0`.
 * @param format - Default key, known keys and aliases. Omitted: any `key=value`, no default key.
 * @returns The values by key in the order written; alias keys resolved (a `keyAlias` key comes
 *   first, then the aliased one), values untouched.
 * @throws InvalidConfigError (`key` = `options.key`, else the format's name) for a duplicate or
 *   unknown key, a part with an empty key or value, a bare value when the format has no
 *   default key (or gives it twice), a character no config value may hold (see
 *   `findForbiddenChar`), or a text longer than `CONFIG_LIMITS.valueLength`.
 */
export function parsePropertyString(
  text: string,
  format: PropertyStringFormat = {},
  options: PropertyStringOptions = {},
): PropertyRecord {
  const key = errorKey(format, options);
  const fail = (message: string): never => {
    throw new InvalidConfigError(key, text, `invalid value for '${key}': ${message} (value '${text}')`);
  };
  if (typeof text !== 'string') fail('not a string');
  if (text.length > CONFIG_LIMITS.valueLength) fail(`longer than ${CONFIG_LIMITS.valueLength} characters`);
  const bad = forbiddenCharProblem(text);
  if (bad) fail(bad);
  const out: PropertyRecord = {};
  const set = (k: string, v: string): void => {
    if (Object.hasOwn(out, k)) fail(`duplicate key '${k}'`);
    if (format.keys && !format.keys.includes(k)) {
      fail(`unknown key '${k}' (known: ${[...format.keys].sort().join(', ')})`);
    }
    defineOwn(out, k, v);
  };
  for (const part of text.split(',')) {
    if (/^\s*$/.test(part)) continue;
    const eq = part.indexOf('=');
    if (eq === -1) {
      if (format.defaultKey === undefined) fail(`'${part}' has no key and this format has no default key`);
      else if (Object.hasOwn(out, format.defaultKey)) fail(`duplicate key '${format.defaultKey}' ('${part}' given without a key)`);
      else set(format.defaultKey, part);
      continue;
    }
    if (eq === 0 || eq === part.length - 1) fail(`'${part}' is missing its key or its value`);
    const written = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!KEY_PATTERN.test(written)) fail(`invalid key '${written}'`);
    const alias = format.aliases && Object.hasOwn(format.aliases, written) ? format.aliases[written] : undefined;
    if (alias) {
      if (alias.keyAlias !== undefined) set(alias.keyAlias, written);
      set(alias.alias, value);
    } else {
      set(written, value);
    }
  }
  return out;
}

/**
 * Prints a record as a property string, keeping the record's key order.
 *
 * The default key is written bare when it comes first (as Proxmox writes it). A `keyAlias`
 * pair is folded back (`model=virtio` + `macaddr=X` → `virtio=X`, at the position of the
 * `keyAlias` key). Keys whose value is `undefined` are left out. For a record returned by
 * {@link parsePropertyString} from Proxmox-written text the result is that text, byte for byte.
 *
 * @throws InvalidConfigError naming `options.key` (else the format's name) for an empty key or
 *   value, or a key or value that cannot be written (`,`, `=` or white space in keys, commas
 *   in values, characters no config value may hold, a result longer than
 *   `CONFIG_LIMITS.valueLength`).
 */
export function printPropertyString(
  record: Readonly<Record<string, string | undefined>>,
  format: PropertyStringFormat = {},
  options: PropertyStringOptions = {},
): string {
  const key = errorKey(format, options);
  const fail = (k: string, v: unknown, message: string): never => {
    throw new InvalidConfigError(key, record, `cannot print '${key}': ${message} (key '${k}', value '${String(v)}')`);
  };
  const parts: string[] = [];
  const done = new Set<string>();
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined || done.has(k)) continue;
    done.add(k);
    if (!KEY_PATTERN.test(k)) fail(k, v, 'invalid key');
    if (typeof v !== 'string') fail(k, v, 'value is not a string');
    if (v === '') fail(k, v, 'empty value');
    const bad = forbiddenCharProblem(k) ?? forbiddenCharProblem(v);
    if (bad) fail(k, v, bad);
    if (v.includes(',')) fail(k, v, 'values cannot contain commas');
    const alias = format.aliases && Object.hasOwn(format.aliases, v) ? format.aliases[v] : undefined;
    if (alias?.keyAlias === k && !done.has(alias.alias)) {
      const combined = record[alias.alias];
      if (combined !== undefined) {
        if (typeof combined !== 'string' || combined === '' || combined.includes(',') || forbiddenCharProblem(combined)) {
          fail(alias.alias, combined, 'invalid value');
        }
        parts.push(`${v}=${combined}`);
        done.add(alias.alias);
        continue;
      }
    }
    if (k === format.defaultKey && parts.length === 0 && !v.includes('=')) parts.push(v);
    else parts.push(`${k}=${v}`);
  }
  const text = parts.join(',');
  if (text.length > CONFIG_LIMITS.valueLength) fail('', text.slice(0, 64), `the result is longer than ${CONFIG_LIMITS.valueLength} characters`);
  return text;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/** Options of {@link parseSize}. */
export interface ParseSizeOptions {
  /** The config key the size belongs to, named in errors. Default `size`. */
  readonly key?: string;
}

/**
 * Parses a Proxmox size: a number of bytes (`1073741824`) or a number with unit K, M, G or T,
 * base 1024 (`32G`, `512M`, `1.5T`), as `PVE::JSONSchema::parse_size` does. Fractions are
 * truncated to whole bytes.
 *
 * @returns The size in bytes.
 * @throws InvalidConfigError (`key` = `options.key` or `size`) when the text is not a size or
 *   the byte count is beyond 2^53 - 1.
 */
export function parseSize(text: string, options: ParseSizeOptions = {}): number {
  const key = options.key ?? 'size';
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text) : null;
  if (!match) {
    throw new InvalidConfigError(
      key,
      text,
      `invalid size '${String(text)}' for '${key}': expected bytes or a number with unit K, M, G or T (base 1024), e.g. 32G`,
    );
  }
  const bytes = Math.trunc(Number(match[1]) * (match[2] ? SIZE_UNITS[match[2]]! : 1));
  if (!Number.isSafeInteger(bytes)) {
    throw new InvalidConfigError(key, text, `size '${text}' for '${key}' is too large (more than 2^53 - 1 bytes)`);
  }
  return bytes;
}

/**
 * Prints a byte count the way Proxmox writes sizes (`PVE::JSONSchema::format_size`): the
 * largest unit of K, M, G, T that divides it exactly, else plain bytes. `34359738368` →
 * `32G`, `1610612736` → `1536M`, `1000` → `1000`. Like Proxmox, 0 prints as `0T`.
 *
 * @throws InvalidArgumentError (`argument` = `bytes`) unless `bytes` is a safe non-negative integer.
 */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new InvalidArgumentError('bytes', `size must be a non-negative integer number of bytes, got ${String(bytes)}`);
  }
  const units = ['', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value}${units[unit]}`;
}

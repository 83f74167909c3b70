/**
 * Decoding of storage.cfg option values that several drivers share: Proxmox booleans, the
 * `bwlimit` property string, `is_mountpoint` and the directory creation flags of dir-like
 * storages (`content-dirs`: see `fileStorageContent.ts`). Values are checked before (see
 * `storageOptionsProblem`); these only read them.
 *
 * @packageDocumentation
 */
import { Type, type TString } from '@sinclair/typebox';
import type { StorageDefinition } from '../contracts/storage.js';
import { BWLIMIT_KEYS } from './proxmoxStorageTypes.js';

/**
 * The meaning of a Proxmox boolean option: `undefined` when absent, true for `''` (the key
 * written alone, as the installer writes `sparse`), `1`, `true`, `yes`, `on` (any case);
 * false otherwise.
 */
export function storageFlag(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return value === '' || /^(?:1|true|yes|on)$/i.test(value);
}

/**
 * Typebox schema of a Proxmox boolean option for a driver's `optionsSchema`: `1`, `0`, `yes`,
 * `no`, `on`, `off`, `true`, `false` (any case) or `''` (the key alone). Decode with
 * {@link storageFlag}.
 */
export function proxmoxBooleanSchema(options: { description?: string } = {}): TString {
  return Type.String({ pattern: '^(?:[01]|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff]|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])?$', ...options });
}

/**
 * Typebox schema of `is_mountpoint` (dir-like storages): a boolean word or an absolute path.
 * Decode with {@link storageMountpoint}.
 */
export function isMountpointSchema(): TString {
  return Type.String({ pattern: '^(?:yes|no|on|off|1|0|true|false|/[^;()\\u0000]*)$' });
}

/**
 * The mount point a dir-like storage must see mounted before use (`is_mountpoint`): the path it
 * names, `path` itself for a true word, undefined when absent or false.
 */
export function storageMountpoint(options: Readonly<Record<string, string>>): string | undefined {
  const mp = options.is_mountpoint;
  if (mp === undefined || ['no', 'off', '0', 'false'].includes(mp)) return undefined;
  return mp.startsWith('/') ? mp : options.path;
}

/**
 * Whether a dir-like storage creates its base path and its content subdirectories
 * (`create-base-path`, `create-subdirs`, both defaulting to the older `mkdir`, then true).
 */
export function directoryCreation(options: Readonly<Record<string, string>>): { createBasePath: boolean; createSubdirs: boolean } {
  const mkdir = storageFlag(options.mkdir);
  return { createBasePath: storageFlag(options['create-base-path']) ?? mkdir ?? true, createSubdirs: storageFlag(options['create-subdirs']) ?? mkdir ?? true };
}

/** An operation a `bwlimit` key limits. */
export type BandwidthOperation = (typeof BWLIMIT_KEYS)[number];

/**
 * The bandwidth limit of `operation` from a storage's `bwlimit` option (`clone=1024,default=512`,
 * KiB/s as Proxmox): the operation's own key, else `default`. Returns bytes per second, or
 * `undefined` when there is no limit (no option, or `0`).
 */
export function storageBandwidthLimit(bwlimit: string | undefined, operation: BandwidthOperation): number | undefined {
  if (!bwlimit) return undefined;
  const limits = new Map<string, number>();
  for (const item of bwlimit.split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) limits.set(item.slice(0, eq).trim(), Number(item.slice(eq + 1).trim()));
  }
  const kib = limits.get(operation) ?? limits.get('default');
  return kib !== undefined && Number.isFinite(kib) && kib > 0 ? Math.round(kib * 1024) : undefined;
}

/**
 * The limit of a copy between two storages, in bytes per second: the lower of their
 * {@link storageBandwidthLimit}s for `operation` (as Proxmox's `get_bandwidth_limit`), or
 * `undefined` when neither limits it.
 */
export function copyBandwidthLimit(source: StorageDefinition, target: StorageDefinition, operation: BandwidthOperation): number | undefined {
  const limits = [source, target].map((d) => storageBandwidthLimit(d.options.bwlimit, operation)).filter((l): l is number => l !== undefined);
  return limits.length === 0 ? undefined : Math.min(...limits);
}

/**
 * User-namespace id maps (`lxc.idmap = u 0 100000 65536`): parsing, the default map of an
 * unprivileged Proxmox container, and mapping container ids to host ids.
 *
 * @packageDocumentation
 */
import { InvalidConfigError } from '@corral/core';

/** One `lxc.idmap` line: ids `nsid..nsid+range-1` in the container are `hostid..` on the host. */
export interface IdMapEntry {
  /** `u` for user ids, `g` for group ids. */
  readonly type: 'u' | 'g';
  readonly nsid: number;
  readonly hostid: number;
  readonly range: number;
}

/** The map pve-container gives an unprivileged container: 65536 ids from 100000. */
export const DEFAULT_UNPRIVILEGED_IDMAP: readonly IdMapEntry[] = Object.freeze([
  { type: 'u', nsid: 0, hostid: 100000, range: 65536 },
  { type: 'g', nsid: 0, hostid: 100000, range: 65536 },
]);

/**
 * Parses one `lxc.idmap` value (`u 0 100000 65536`).
 *
 * @throws InvalidConfigError naming `key` for anything else.
 */
export function parseIdMapEntry(value: string, key = 'lxc.idmap'): IdMapEntry {
  const m = /^\s*([ug])\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(value);
  if (!m || Number(m[4]) < 1) {
    throw new InvalidConfigError(key, value, `invalid value for '${key}': '${value}' is not 'u|g <container id> <host id> <count>'`);
  }
  return { type: m[1] as 'u' | 'g', nsid: Number(m[2]), hostid: Number(m[3]), range: Number(m[4]) };
}

/** Prints an entry as LXC reads it. */
export function formatIdMapEntry(e: IdMapEntry): string {
  return `${e.type} ${e.nsid} ${e.hostid} ${e.range}`;
}

/** The host id of container id `id`, or `undefined` when the map does not cover it. */
export function mapIdToHost(map: readonly IdMapEntry[], type: 'u' | 'g', id: number): number | undefined {
  for (const e of map) {
    if (e.type === type && id >= e.nsid && id < e.nsid + e.range) return e.hostid + (id - e.nsid);
  }
  return undefined;
}

/**
 * The host uid and gid of the container's root, i.e. the owner of files the host writes for
 * the container (0/0 without a map).
 */
export function containerRootOnHost(map: readonly IdMapEntry[]): { uid: number; gid: number } {
  if (map.length === 0) return { uid: 0, gid: 0 };
  return { uid: mapIdToHost(map, 'u', 0) ?? 65534, gid: mapIdToHost(map, 'g', 0) ?? 65534 };
}

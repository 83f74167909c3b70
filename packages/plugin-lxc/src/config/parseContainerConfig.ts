/**
 * A container config as the LXC driver works on it: the Proxmox keys checked by core's
 * `validateLxcConfig`, with the rootfs, mount points, network interfaces, raw `lxc.*` lines
 * and the effective id map pulled out.
 *
 * @packageDocumentation
 */
import {
  InvalidConfigError,
  parseLxcMountPoint,
  parseLxcNet,
  validateLxcConfig,
  type ConfigEntry,
  type GuestConfigEntries,
  type LxcConfigValues,
  type LxcMountPoint,
  type LxcNet,
} from '@corral/core';
import { DEFAULT_UNPRIVILEGED_IDMAP, parseIdMapEntry, type IdMapEntry } from './idmap.js';

/** A mount point with the config key it came from. */
export interface ContainerMountPoint {
  /** `mp0`..`mp255`. */
  readonly key: string;
  readonly mount: LxcMountPoint;
}

/** A network interface with the config key it came from. */
export interface ContainerNet {
  /** `net0`..`net31`. */
  readonly key: string;
  readonly index: number;
  readonly net: LxcNet;
}

/** A parsed, checked container config. */
export interface ContainerConfig {
  /** Typed values of every key (as `validateLxcConfig` returns them). */
  readonly values: LxcConfigValues;
  /** The root file system (`mp` is `/`). */
  readonly rootfs: LxcMountPoint;
  /** Mount points, parents before children (sorted by path). */
  readonly mountPoints: readonly ContainerMountPoint[];
  /** Network interfaces by index. */
  readonly nets: readonly ContainerNet[];
  /** Raw `lxc.*` lines in config order (keys may repeat). */
  readonly raw: readonly ConfigEntry[];
  /** True for `unprivileged: 1`. */
  readonly unprivileged: boolean;
  /** The id map: raw `lxc.idmap` lines, or the default map of an unprivileged container, or none. */
  readonly idmap: readonly IdMapEntry[];
}

/**
 * Guest config entries as a list: raw `lxc.*` keys that repeat are joined with `\n` in a
 * {@link GuestConfigEntries} record and are split again here.
 */
export function toEntryList(entries: GuestConfigEntries): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const [key, value] of Object.entries(entries)) {
    if (key.startsWith('lxc.')) for (const v of value.split('\n')) out.push({ key, value: v });
    else out.push({ key, value });
  }
  return out;
}

/** The raw values of `key` (a repeated `lxc.*` key gives several). */
export function rawValues(raw: readonly ConfigEntry[], key: string): string[] {
  return raw.filter((e) => e.key === key).map((e) => e.value);
}

/**
 * Checks a container config and pulls out what the driver needs.
 *
 * @param options.requireRootfs - Throw when `rootfs` is missing (default true).
 * @throws InvalidConfigError naming the key: an unknown key or raw key, a bad value (from
 *   core's schema), a missing `rootfs`, two interfaces with one name, two mount points on one
 *   path or on `/`, a bad `lxc.idmap`.
 */
export function parseContainerConfig(entries: GuestConfigEntries, options: { requireRootfs?: boolean } = {}): ContainerConfig {
  const list = toEntryList(entries);
  const values = validateLxcConfig(list);
  const rootfsText = entries.rootfs;
  if (rootfsText === undefined) {
    if (options.requireRootfs ?? true) throw new InvalidConfigError('rootfs', undefined, "a container needs 'rootfs' (e.g. 'local:8' to allocate 8 GiB on storage local)");
  }
  const rootfs = rootfsText === undefined ? ({ volume: '', mp: '/', type: 'volume' } as LxcMountPoint) : parseLxcMountPoint(rootfsText, { key: 'rootfs' });

  const mountPoints: ContainerMountPoint[] = [];
  const nets: ContainerNet[] = [];
  for (const { key, value } of list) {
    if (/^mp\d+$/.test(key)) mountPoints.push({ key, mount: parseLxcMountPoint(value, { key }) });
    else if (/^net\d+$/.test(key)) nets.push({ key, index: Number(key.slice(3)), net: parseLxcNet(value, { key }) });
  }
  const paths = new Map<string, string>();
  for (const { key, mount } of mountPoints) {
    const path = normalizeMountPath(mount.mp);
    if (path === '/') throw new InvalidConfigError(key, entries[key], `invalid value for '${key}': a mount point cannot be '/' (that is rootfs)`);
    const other = paths.get(path);
    if (other) throw new InvalidConfigError(key, entries[key], `invalid value for '${key}': '${path}' is already the mount point of ${other}`);
    paths.set(path, key);
  }
  mountPoints.sort((a, b) => normalizeMountPath(a.mount.mp).localeCompare(normalizeMountPath(b.mount.mp)));
  nets.sort((a, b) => a.index - b.index);
  const names = new Map<string, string>();
  for (const { key, net } of nets) {
    const other = names.get(net.name);
    if (other) throw new InvalidConfigError(key, entries[key], `invalid value for '${key}': interface name '${net.name}' is already used by ${other}`);
    names.set(net.name, key);
  }

  const raw = values.lxc ?? [];
  const unprivileged = values.unprivileged === true;
  const rawMap = raw.filter((e) => e.key === 'lxc.idmap' || e.key === 'lxc.id_map').map((e) => parseIdMapEntry(e.value, e.key));
  const idmap = rawMap.length > 0 ? rawMap : unprivileged ? [...DEFAULT_UNPRIVILEGED_IDMAP] : [];
  if (idmap.length > 0 && (!idmap.some((e) => e.type === 'u') || !idmap.some((e) => e.type === 'g'))) {
    throw new InvalidConfigError('lxc.idmap', rawValues(raw, 'lxc.idmap').join('\n'), "invalid value for 'lxc.idmap': the map needs both 'u' and 'g' lines");
  }
  return { values, rootfs, mountPoints, nets, raw, unprivileged, idmap };
}

/** `/srv//data/` → `/srv/data`. */
export function normalizeMountPath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return `/${parts.join('/')}`;
}

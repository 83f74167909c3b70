/**
 * Container volumes: `rootfs`, mount points `mpN` (N 0..255) and `unusedN`, as pve-container
 * defines them (`$rootfs_desc`, `$mp_desc`, `$unused_desc`):
 *
 * ```text
 * rootfs: local-lvm:vm-200-disk-0,size=8G
 * mp0: local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=32G
 * mp1: /mnt/shared,mp=/shared,ro=1
 * unused0: local-lvm:vm-200-disk-2
 * ```
 *
 * @packageDocumentation
 */
import { Type, type Static } from '@sinclair/typebox';
import { InvalidConfigError } from '../../errors.js';
import { Flag, VolumeIdString } from './commonFields.js';
import { Size, Str, definePropertyString } from './valueSchema.js';

const opt = Type.Optional;
const MOUNT_OPTION = '(?:discard|lazytime|noatime|nodev|noexec|nosuid)';

const rootfsFields = {
  volume: Str({ pveFormat: 'lxc-volume' }),
  size: opt(Size()),
  acl: Flag(),
  mountoptions: opt(
    Str({
      pattern: `${MOUNT_OPTION}(?:;${MOUNT_OPTION})*`,
      pveMessage: "must be mount options separated by ';' (discard, lazytime, noatime, nodev, noexec, nosuid)",
    }),
  ),
  ro: Flag(),
  quota: Flag(),
  replicate: Flag(),
  shared: Flag(),
};

/** The `rootfs` format. */
export const lxcRootfsFormat = definePropertyString({
  name: 'rootfs',
  defaultKey: 'volume',
  properties: rootfsFields,
});

/** The `mpN` format. */
export const lxcMountPointFormat = definePropertyString({
  name: 'mount point',
  defaultKey: 'volume',
  properties: {
    ...rootfsFields,
    backup: Flag(),
    mp: Str({ pveFormat: 'lxc-mp-path' }),
  },
});

/** The container `unusedN` format. */
export const lxcUnusedFormat = definePropertyString({
  name: 'unused volume',
  defaultKey: 'volume',
  properties: { volume: VolumeIdString() },
});

/**
 * TypeBox schema of every field a container volume can have: the `rootfs` fields plus the
 * mount-point-only `backup` and `mp` (optional here, as rootfs has none). It is the shape of
 * {@link LxcMountPoint} without `type`; which fields a given key accepts is checked by that
 * key's format ({@link lxcRootfsFormat} or {@link lxcMountPointFormat}).
 */
export const lxcMountPointSchema = Type.Object({ ...rootfsFields, backup: Flag(), mp: opt(Str()) });

/**
 * Where a mount point's data comes from, as pve-container's `classify_mountpoint`: a storage
 * `volume`, a host directory (`bind`) or a host block `device`.
 */
export type LxcMountPointType = 'volume' | 'bind' | 'device';

/**
 * A parsed container volume. `size` is in bytes; `mp` is the path inside the container (`/`
 * for rootfs); `type` is derived from `volume` and not printed.
 */
export type LxcMountPoint = Static<typeof lxcMountPointSchema> & { mp: string; type: LxcMountPointType };

/** Fields of a mount point as given to {@link printLxcMountPoint} (`type` is ignored, `mp` too for rootfs). */
export type LxcMountPointFields = Static<typeof lxcMountPointSchema> & { type?: LxcMountPointType };

/** Options naming the config key of a container volume. */
export interface LxcMountPointOptions {
  /** `rootfs` or `mp0`..`mp255`. */
  readonly key: string;
}

/** The mount point type of a `volume` value (pve-container's `classify_mountpoint`). */
export function classifyMountPoint(volume: string): LxcMountPointType {
  if (volume.startsWith('/')) return volume.startsWith('/dev/') ? 'device' : 'bind';
  return 'volume';
}

function specFor(key: string) {
  if (key === 'rootfs') return lxcRootfsFormat;
  const match = /^mp(\d+)$/.exec(key);
  if (match && String(Number(match[1])) === match[1] && Number(match[1]) < 256) return lxcMountPointFormat;
  throw new InvalidConfigError(key, undefined, `'${key}' is not a container mount point key (rootfs, mp0-255)`);
}

/**
 * Parses the value of `rootfs` or `mpN`.
 *
 * ```ts
 * parseLxcMountPoint('local-lvm:vm-200-disk-1,mp=/srv/data,backup=1,size=32G', { key: 'mp0' })
 * // { volume: 'local-lvm:vm-200-disk-1', mp: '/srv/data', backup: true, size: 34359738368, type: 'volume' }
 * ```
 *
 * @throws InvalidConfigError naming the key and value for an unknown key, a missing `mp=` on
 *   a mount point, a volume that is neither `storage:name` nor an absolute path, a path with
 *   `.`/`..` segments, a bad size or mount option.
 */
export function parseLxcMountPoint(value: string, options: LxcMountPointOptions): LxcMountPoint {
  const fields = specFor(options.key).parse(value, options.key) as Static<typeof lxcMountPointSchema>;
  return { ...fields, mp: options.key === 'rootfs' ? '/' : fields.mp!, type: classifyMountPoint(fields.volume) };
}

/**
 * Prints a container volume as pve-container writes it (`volume` first, then `mp=`, then the
 * other fields sorted; `mp` is left out for rootfs).
 *
 * @throws InvalidConfigError naming the key for an unknown key or field, or an invalid value.
 */
export function printLxcMountPoint(mountPoint: LxcMountPointFields, options: LxcMountPointOptions): string {
  const spec = specFor(options.key);
  const { type: _type, ...fields } = mountPoint;
  if (options.key === 'rootfs') delete (fields as { mp?: string }).mp;
  return spec.print(fields as never, options.key);
}

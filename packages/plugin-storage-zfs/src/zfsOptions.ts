import { Type } from '@sinclair/typebox';
import { InvalidConfigError, proxmoxBooleanSchema, storageFlag, type StorageDefinition } from '@corral/core';

const bool = proxmoxBooleanSchema();

/**
 * The `storage.cfg` options of a `zfspool` storage (beyond `content`, `nodes`, `disable`,
 * `shared`), as Proxmox's ZFSPoolPlugin accepts them. Values are strings.
 *
 * - `pool` (required): the dataset volumes are created under, `tank` or `tank/corral`.
 * - `blocksize`: `volblocksize` of new zvols, a power of 2 from 512 to 16M with optional
 *   `k`/`m` suffix (`8k`, `16k`, `1m`).
 * - `sparse` (`0` default): zvols without reservation (`zfs create -s`). A Proxmox boolean:
 *   the installer writes the key alone (`sparse`), which means true.
 * - `mountpoint`: where the pool's filesystems are mounted (Proxmox fills it in when the
 *   storage is added). Kept for compatibility; paths come from each dataset's own
 *   `mountpoint` property.
 */
export const zfsOptionsSchema = Type.Object(
  {
    pool: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_.:-]*(?:/[A-Za-z0-9_.:-]+)*$', description: 'ZFS dataset holding the volumes' }),
    blocksize: Type.Optional(Type.String({ pattern: '^[1-9][0-9]*[kKmM]?$', description: 'volblocksize of new zvols' })),
    sparse: Type.Optional(bool),
    mountpoint: Type.Optional(Type.String({ pattern: '^/[^;()\\u0000]*$', description: 'mount point of the pool (informational)' })),
  },
  { additionalProperties: false },
);

/** The decoded options of a zfspool storage. */
export interface ZfsOptions {
  /** Dataset holding the volumes (`tank` or `tank/corral`). */
  readonly pool: string;
  /** Name of the zpool (first component of `pool`). */
  readonly poolName: string;
  /** volblocksize of new zvols in bytes, when set. */
  readonly blocksizeBytes?: number;
  /** The `blocksize` option as written (passed to `zfs create -b`). */
  readonly blocksize?: string;
  /** Create zvols without reservation. */
  readonly sparse: boolean;
}

/**
 * Bytes of a `blocksize` value, checked as Proxmox's `verify_zfs_blocksize`: a power of 2
 * from 512 B to 16 MiB. Throws `InvalidConfigError` (key `blocksize`) otherwise.
 */
export function parseZfsBlocksize(value: string): number {
  const m = /^([1-9][0-9]*)([kKmM])?$/.exec(value);
  const unit = m?.[2]?.toLowerCase();
  const n = m ? Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 512 || n > 16 * 1024 * 1024 || (n & (n - 1)) !== 0) {
    throw new InvalidConfigError('blocksize', value, `'${value}' is not a valid ZFS blocksize: a power of 2 between 512 and 16M, e.g. 8k, 16k, 1m`);
  }
  return n;
}

/** Decodes a validated definition's options. Throws `InvalidConfigError` for a bad `blocksize`. */
export function zfsOptions(def: StorageDefinition): ZfsOptions {
  const o = def.options;
  const pool = o.pool;
  if (!pool) throw new InvalidConfigError('pool', pool, `storage '${def.id}' (zfspool): option 'pool' is required`);
  return {
    pool,
    poolName: pool.split('/')[0]!,
    blocksize: o.blocksize,
    blocksizeBytes: o.blocksize === undefined ? undefined : parseZfsBlocksize(o.blocksize),
    sparse: storageFlag(o.sparse) ?? false,
  };
}

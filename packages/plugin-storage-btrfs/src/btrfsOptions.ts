import { Type } from '@sinclair/typebox';
import { directoryCreation, isMountpointSchema, proxmoxBooleanSchema, storageFlag, storageMountpoint, type StorageDefinition } from '@corral/core';

/** A Proxmox boolean: `1`/`0`/`yes`/`no`/`on`/`off`/`true`/`false`, or the key alone (true). */
const bool = proxmoxBooleanSchema();

/**
 * The `storage.cfg` options of a `btrfs` storage (beyond `content`, `nodes`, `disable`,
 * `shared`), as Proxmox's BTRFSPlugin accepts them, plus `quotas` (a Corral addition).
 * Values are strings.
 *
 * - `path` (required): absolute directory on a btrfs filesystem, no `;`, `(`, `)`.
 * - `nocow` (`0` default): new raw images get the NOCOW attribute (no data checksums; QEMU
 *   may then use O_DIRECT, see {@link btrfsQemuHints}).
 * - `mkdir` / `create-base-path` / `create-subdirs` / `is_mountpoint`: as for `dir`.
 * - `format`: default image format (`raw` or `subvol` are used; `qcow2`/`vmdk` are accepted
 *   so that a Proxmox config loads, and ignored).
 * - `preallocation`: accepted and ignored (Proxmox's btrfs plugin ignores it too: raw images
 *   are sparse files).
 * - `prune-backups`, `max-protected-backups`: accepted and kept.
 * - `quotas` (`0` default; Corral only, Proxmox does not know it): enable btrfs quota groups on
 *   the filesystem and use a qgroup limit on the referenced bytes as the size of a container
 *   subvolume. Without it a subvolume has no size, as on Proxmox.
 */
export const btrfsOptionsSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/[^;()\\u0000]+$', description: 'absolute path of the storage directory (on a btrfs filesystem)' }),
    nocow: Type.Optional(bool),
    quotas: Type.Optional(bool),
    mkdir: Type.Optional(bool),
    'create-base-path': Type.Optional(bool),
    'create-subdirs': Type.Optional(bool),
    is_mountpoint: Type.Optional(isMountpointSchema()),
    format: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('subvol'), Type.Literal('qcow2'), Type.Literal('vmdk')])),
    preallocation: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('metadata'), Type.Literal('falloc'), Type.Literal('full')])),
    'prune-backups': Type.Optional(Type.String({ pattern: '^(?:keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)(?:,keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)*$' })),
    'max-protected-backups': Type.Optional(Type.String({ pattern: '^(?:-1|\\d+)$' })),
  },
  { additionalProperties: false },
);

/** The options of a btrfs storage, decoded. */
export interface BtrfsOptions {
  /** Absolute storage directory. */
  readonly path: string;
  /** Set NOCOW on new raw images. */
  readonly nocow: boolean;
  /** Container subvolume sizes are qgroup limits (quotas enabled on the filesystem). */
  readonly quotas: boolean;
  /** Create `path` when missing (`mkdir`/`create-base-path`, default true). */
  readonly createBasePath: boolean;
  /** Create content subdirectories (`create-subdirs`/`mkdir`, default true). */
  readonly createSubdirs: boolean;
  /** A path that must be a mount point for the storage to be online, if any. */
  readonly mountpoint?: string;
}

/** Decodes a validated definition's options. */
export function btrfsOptions(def: StorageDefinition): BtrfsOptions {
  const o = def.options;
  return {
    path: o.path!,
    nocow: storageFlag(o.nocow) ?? false,
    quotas: storageFlag(o.quotas) ?? false,
    ...directoryCreation(o),
    mountpoint: storageMountpoint(o),
  };
}

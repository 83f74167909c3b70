import { Type } from '@sinclair/typebox';
import { contentDirOverrides, directoryCreation, isMountpointSchema, proxmoxBooleanSchema, storageMountpoint, type StorageContent, type StorageDefinition } from '@corral/core';

const bool = proxmoxBooleanSchema();

/**
 * The `storage.cfg` options of a `dir` storage (beyond `content`, `nodes`, `disable`,
 * `shared`), as Proxmox's DirPlugin accepts them. Values are strings.
 *
 * - `path` (required): absolute directory, no `;`, `(`, `)` (pve's `verify_path`).
 * - `mkdir` / `create-base-path` (`1` default): create `path` when missing.
 * - `create-subdirs` (`1` default): create the content directories (`images`, `template/iso`...).
 * - `is_mountpoint`: `yes`/`no`/`1`/`0`/`on`/`off`/`true`/`false` or an absolute path; when
 *   set, the storage is offline unless that path (or `path`) is a mount point.
 * - `format`: default image format (`raw`, `qcow2`, `vmdk`).
 * - `preallocation`: `off`, `metadata` (default for qcow2), `falloc`, `full`.
 * - `prune-backups`, `max-protected-backups`: accepted and kept (retention is not enforced here).
 *
 * Flags take Proxmox's booleans (`1`/`0`/`yes`/`no`/`on`/`off`/`true`/`false`, or the key
 * alone for true). The other options Proxmox's dir type takes are checked by core from its
 * table of Proxmox types and kept: `content-dirs` (applied: see {@link DirOptions.contentDirs}),
 * `bwlimit`, `maxfiles`, `snapshot-as-volume-chain`.
 */
export const dirOptionsSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/[^;()\\u0000]+$', description: 'absolute path of the storage directory' }),
    mkdir: Type.Optional(bool),
    'create-base-path': Type.Optional(bool),
    'create-subdirs': Type.Optional(bool),
    is_mountpoint: Type.Optional(isMountpointSchema()),
    format: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('qcow2'), Type.Literal('vmdk')])),
    preallocation: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('metadata'), Type.Literal('falloc'), Type.Literal('full')])),
    'prune-backups': Type.Optional(Type.String({ pattern: '^(?:keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)(?:,keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)*$' })),
    'max-protected-backups': Type.Optional(Type.String({ pattern: '^(?:-1|\\d+)$' })),
  },
  { additionalProperties: false },
);

/** The options of a dir storage, decoded. */
export interface DirOptions {
  /** Absolute storage directory. */
  readonly path: string;
  /** Create `path` when missing (`mkdir`/`create-base-path`, default true). */
  readonly createBasePath: boolean;
  /** Create content subdirectories (`create-subdirs`/`mkdir`, default true). */
  readonly createSubdirs: boolean;
  /** A path that must be a mount point for the storage to be online, if any. */
  readonly mountpoint?: string;
  /** `preallocation` option, if set. */
  readonly preallocation?: 'off' | 'metadata' | 'falloc' | 'full';
  /** `content-dirs`: directories, relative to `path`, replacing the default of a content type. */
  readonly contentDirs: Readonly<Partial<Record<StorageContent, string>>>;
}

/** Decodes a validated definition's options. */
export function dirOptions(def: StorageDefinition): DirOptions {
  const o = def.options;
  return {
    path: o.path!,
    ...directoryCreation(o),
    mountpoint: storageMountpoint(o),
    preallocation: o.preallocation as DirOptions['preallocation'],
    contentDirs: contentDirOverrides(o['content-dirs']),
  };
}

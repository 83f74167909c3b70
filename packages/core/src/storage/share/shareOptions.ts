import { Type } from '@sinclair/typebox';
import { contentDirOverrides } from '../fileStorageContent.js';
import { directoryCreation, proxmoxBooleanSchema } from '../storageOptionValues.js';
import type { StorageContent, StorageDefinition } from '../../contracts/storage.js';

/** A boolean option as Proxmox writes and reads it (`1`/`0`, `yes`/`no`, `on`/`off`, `true`/`false`, the bare key). */
const bool = proxmoxBooleanSchema();

/**
 * The `storage.cfg` options every mounted-share storage (`nfs`, `cifs`, `glusterfs`) has, as Proxmox's
 * file-storage plugins accept them. Values are strings.
 *
 * - `path` (required): the local mount point (Proxmox fills in `/mnt/pve/<storeid>`; here it
 *   must be given). Files are laid out under it as on a dir storage.
 * - `options`: mount options, passed as `mount -o <options>`.
 * - `mkdir` / `create-base-path` / `create-subdirs`, `format`, `preallocation`,
 *   `prune-backups`, `max-protected-backups`: as for dir (retention is not enforced here).
 *
 * `content-dirs` (`iso=isos,backup=dumps`: the directory of a content type under `path`) and
 * `bwlimit` are checked by core as Proxmox checks them (they are options of Proxmox's nfs and
 * cifs types) and decoded by core (`contentDirOverrides`, `storageBandwidthLimit`).
 */
export const SHARE_OPTION_PROPERTIES = {
  path: Type.String({ pattern: '^/[^;()\\u0000]+$', description: 'absolute local mount point' }),
  options: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.=:,/+-]+$', description: 'mount options (mount -o)' })),
  mkdir: Type.Optional(bool),
  'create-base-path': Type.Optional(bool),
  'create-subdirs': Type.Optional(bool),
  format: Type.Optional(Type.Union([Type.Literal('raw'), Type.Literal('qcow2')])),
  preallocation: Type.Optional(Type.Union([Type.Literal('off'), Type.Literal('metadata'), Type.Literal('falloc'), Type.Literal('full')])),
  'prune-backups': Type.Optional(
    Type.String({
      pattern: '^(?:keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)(?:,keep-(?:all|last|hourly|daily|weekly|monthly|yearly)=\\d+)*$',
    })
  ),
  'max-protected-backups': Type.Optional(Type.String({ pattern: '^(?:-1|\\d+)$' })),
};

/** A server address or name (pve's `pve-storage-server`): a DNS name, IPv4, or IPv6 with or without brackets. */
export const SERVER_OPTION = Type.String({
  pattern: '^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\\[?[0-9A-Fa-f:.]+\\]?)$',
  maxLength: 253,
  description: 'server address or name',
});

/** The common options of a share storage, decoded. */
export interface ShareOptions {
  /** Local mount point (absolute). */
  readonly path: string;
  /** `mount -o` options, if any. */
  readonly mountOptions?: string;
  /** Create `path` when missing before mounting (`mkdir`/`create-base-path`, default true). */
  readonly createBasePath: boolean;
  /** Create the content directories after mounting (`create-subdirs`/`mkdir`, default true). */
  readonly createSubdirs: boolean;
  /** Directory (relative to `path`) per content type, from `content-dirs`. */
  readonly contentDirs: Readonly<Partial<Record<StorageContent, string>>>;
  readonly preallocation?: 'off' | 'metadata' | 'falloc' | 'full';
}


/** Drops the brackets of an IPv6 server (`[fd00::5]` → `fd00::5`). */
export function serverAddress(server: string): string {
  return server.replace(/^\[(.*)\]$/, '$1');
}

/** Decodes the common options of a validated definition. */
export function shareOptions(def: StorageDefinition): ShareOptions {
  const o = def.options;
  return {
    path: o.path!,
    mountOptions: o.options,
    ...directoryCreation(o),
    contentDirs: contentDirOverrides(o['content-dirs']),
    preallocation: o.preallocation as ShareOptions['preallocation'],
  };
}

import { Type } from '@sinclair/typebox';
import { directoryCreation, InvalidConfigError, proxmoxBooleanSchema, type StorageContent, type StorageDefinition } from '@corral/core';

/** A boolean option as Proxmox writes and reads it (`1`/`0`, `yes`/`no`, `on`/`off`, `true`/`false`, the bare key). */
const bool = proxmoxBooleanSchema();

/**
 * The `storage.cfg` options every network-share storage (`nfs`, `cifs`) has, as Proxmox's
 * file-storage plugins accept them. Values are strings.
 *
 * - `path` (required): the local mount point (Proxmox fills in `/mnt/pve/<storeid>`; here it
 *   must be given). Files are laid out under it as on a dir storage.
 * - `options`: mount options, passed as `mount -o <options>`.
 * - `content-dirs`: `<content>=<relative dir>` pairs, comma separated, overriding the
 *   default directory of a content type (`iso=isos,backup=dumps`).
 * - `mkdir` / `create-base-path` / `create-subdirs`, `format`, `preallocation`,
 *   `prune-backups`, `max-protected-backups`, `bwlimit`: as for dir (accepted and kept;
 *   retention and bandwidth limits are not enforced here).
 */
export const SHARE_OPTION_PROPERTIES = {
  path: Type.String({ pattern: '^/[^;()\\u0000]+$', description: 'absolute local mount point' }),
  options: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.=:,/+-]+$', description: 'mount options (mount -o)' })),
  'content-dirs': Type.Optional(
    Type.String({
      pattern: '^(?:images|rootdir|iso|vztmpl|backup|snippets)=[^,;()\\s]+(?:,(?:images|rootdir|iso|vztmpl|backup|snippets)=[^,;()\\s]+)*$',
    })
  ),
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
  bwlimit: Type.Optional(Type.String({ pattern: '^[a-z]+=\\d+(?:,[a-z]+=\\d+)*$' })),
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


/**
 * Parses `content-dirs` (`iso=isos,backup=dumps`). A directory must be relative and stay
 * inside the mount (no `..`, no leading `/`).
 *
 * @throws InvalidConfigError (key `content-dirs`).
 */
export function parseContentDirs(value: string | undefined): Partial<Record<StorageContent, string>> {
  const out: Partial<Record<StorageContent, string>> = {};
  if (!value) return out;
  for (const pair of value.split(',')) {
    const [content, dir] = pair.split('=') as [StorageContent, string];
    const clean = dir.replace(/^\/+|\/+$/g, '');
    if (clean === '' || clean.split('/').some((s) => s === '..' || s === '.' || s === '')) {
      throw new InvalidConfigError('content-dirs', value, `invalid 'content-dirs': '${dir}' for ${content} must be a relative directory inside the mount`);
    }
    if (out[content] !== undefined) throw new InvalidConfigError('content-dirs', value, `invalid 'content-dirs': ${content} is given twice`);
    out[content] = clean;
  }
  return out;
}

/** Drops the brackets of an IPv6 server (`[fd00::5]` → `fd00::5`). */
export function serverAddress(server: string): string {
  return server.replace(/^\[(.*)\]$/, '$1');
}

/** Decodes the common options of a validated definition (throws `InvalidConfigError` for a bad `content-dirs`). */
export function shareOptions(def: StorageDefinition): ShareOptions {
  const o = def.options;
  return {
    path: o.path!,
    mountOptions: o.options,
    ...directoryCreation(o),
    contentDirs: parseContentDirs(o['content-dirs']),
    preallocation: o.preallocation as ShareOptions['preallocation'],
  };
}

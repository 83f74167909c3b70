import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { type StorageContext, SERVER_OPTION, serverAddress, SHARE_OPTION_PROPERTIES } from '@corral/core';

/** SMB protocol versions Proxmox offers (`smbversion`). */
export const SMB_VERSIONS = ['default', '2.0', '2.1', '3', '3.0', '3.11'] as const;

/**
 * The `storage.cfg` options of a `cifs` storage, as Proxmox's CIFSPlugin accepts them: the
 * share options (`path`, `options`, `content-dirs`...) plus `server` (required), `share`
 * (required), `subdir` (a directory inside the share, `/sub/dir`), `username`, `password`
 * (secret: kept out of storage.cfg by the facade), `domain`, `smbversion` (`default`, `2.0`,
 * `2.1`, `3`, `3.0`, `3.11`).
 */
export const cifsOptionsSchema = Type.Object(
  {
    server: SERVER_OPTION,
    share: Type.String({ pattern: '^[^/\\\\;()\\u0000\\s][^/\\\\;()\\u0000]*$', maxLength: 256, description: 'CIFS share name' }),
    subdir: Type.Optional(Type.String({ pattern: '^/[^;()\\u0000\\s]*$', description: 'directory inside the share' })),
    username: Type.Optional(Type.String({ pattern: '^[^,=\\s\\u0000]+$', maxLength: 256 })),
    password: Type.Optional(Type.String({ pattern: '^[^\\n\\u0000]*$', maxLength: 256 })),
    domain: Type.Optional(Type.String({ pattern: '^[^,=\\s\\u0000]+$', maxLength: 256 })),
    smbversion: Type.Optional(Type.Union(SMB_VERSIONS.map((v) => Type.Literal(v)))),
    ...SHARE_OPTION_PROPERTIES,
  },
  { additionalProperties: false }
);

/** What identifies one CIFS mount. */
export interface CifsMountSpec {
  readonly server: string;
  readonly share: string;
  /** `/sub/dir` inside the share, or empty. */
  readonly subdir: string;
  readonly path: string;
  readonly username?: string;
  /** The password, from the storage's secrets. */
  readonly password?: string;
  readonly domain?: string;
  readonly smbversion?: string;
  readonly mountOptions?: string;
  /** Where the credentials file (`password=...`) is written (private run directory of the storage). */
  readonly credentialsFile: string;
}

/** The mount of a cifs storage: options, the `password` secret, a credentials file in the storage's run directory. */
export function cifsMountSpec(ctx: Pick<StorageContext, 'storage' | 'secrets' | 'runDir'>): CifsMountSpec {
  const o = ctx.storage.options;
  return {
    server: serverAddress(o.server!),
    share: o.share!,
    subdir: o.subdir ?? '',
    path: o.path!,
    username: o.username,
    password: ctx.secrets.password,
    domain: o.domain,
    smbversion: o.smbversion,
    mountOptions: o.options,
    credentialsFile: join(ctx.runDir, 'cifs-credentials'),
  };
}

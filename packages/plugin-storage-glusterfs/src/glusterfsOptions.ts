import { Type } from '@sinclair/typebox';
import { InvalidConfigError, type StorageDefinition, SERVER_OPTION, serverAddress, SHARE_OPTION_PROPERTIES } from '@corral/core';

/** Gluster transports Proxmox accepts (`transport`): `tcp`, `rdma`, `unix`. */
export const GLUSTER_TRANSPORTS = ['tcp', 'rdma', 'unix'] as const;

/** One of {@link GLUSTER_TRANSPORTS}. */
export type GlusterTransport = (typeof GLUSTER_TRANSPORTS)[number];

/** The share options a glusterfs storage has: all but `options` and `content-dirs`, which Proxmox's GlusterfsPlugin does not take. */
const { options: _mountOptions, ...GLUSTER_SHARE_PROPERTIES } = SHARE_OPTION_PROPERTIES;

/**
 * The `storage.cfg` options of a `glusterfs` storage, as Proxmox's GlusterfsPlugin (PVE 8)
 * accepts them: `volume` (required: the Gluster volume name, letters, digits, `_`, `-`),
 * `server` (volfile server; default `localhost`), `server2` (backup volfile server, only with
 * `server`), `transport` (`tcp`, `rdma`, `unix`: the scheme of QEMU's URL), and the file-storage
 * options `path` (required: the mount point, Proxmox's `/mnt/pve/<storeid>`), `mkdir`,
 * `create-base-path`, `create-subdirs`, `format`, `preallocation`, `prune-backups`,
 * `max-protected-backups`, `bwlimit`.
 */
export const glusterfsOptionsSchema = Type.Object(
  {
    server: Type.Optional(SERVER_OPTION),
    server2: Type.Optional(SERVER_OPTION),
    volume: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$', maxLength: 255, description: 'GlusterFS volume name' }),
    transport: Type.Optional(Type.Union(GLUSTER_TRANSPORTS.map((t) => Type.Literal(t)))),
    ...GLUSTER_SHARE_PROPERTIES,
  },
  { additionalProperties: false }
);

/** What identifies the Gluster volume of a storage and where it is mounted. */
export interface GlusterfsSpec {
  /** Volfile server (`server`, default `localhost`). */
  readonly server: string;
  /** Backup volfile server (`server2`). */
  readonly server2?: string;
  readonly volume: string;
  /** The local mount point (`path`). */
  readonly path: string;
  readonly transport?: GlusterTransport;
}

/** The spec of a validated glusterfs definition (IPv6 servers without brackets). */
export function glusterfsSpec(def: StorageDefinition): GlusterfsSpec {
  const o = def.options;
  return {
    server: serverAddress(o.server ?? 'localhost'),
    ...(o.server2 !== undefined ? { server2: serverAddress(o.server2) } : {}),
    volume: o.volume!,
    path: o.path!,
    ...(o.transport !== undefined ? { transport: o.transport as GlusterTransport } : {}),
  };
}

/**
 * Checks beyond the schema: `server2` needs `server` (Proxmox's `requires => 'server'`).
 *
 * @throws InvalidConfigError (key `server2`).
 */
export function checkGlusterfsDefinition(def: StorageDefinition): void {
  if (def.options.server2 !== undefined && def.options.server === undefined) {
    throw new InvalidConfigError('server2', def.options.server2, `storage '${def.id}': 'server2' (backup volfile server) needs 'server'`);
  }
}

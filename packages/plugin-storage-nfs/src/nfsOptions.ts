import { Type } from '@sinclair/typebox';
import { type StorageDefinition, SERVER_OPTION, serverAddress, SHARE_OPTION_PROPERTIES } from '@corral/core';
import type { NfsMountSpec } from './nfsMount.js';

/**
 * The `storage.cfg` options of an `nfs` storage, as Proxmox's NFSPlugin accepts them: the
 * share options (`path`, `options`, `content-dirs`...: see {@link SHARE_OPTION_PROPERTIES})
 * plus `server` (required: IPv4, IPv6 or DNS name) and `export` (required: absolute export
 * path on the server).
 */
export const nfsOptionsSchema = Type.Object(
  {
    server: SERVER_OPTION,
    export: Type.String({ pattern: '^/[^;()\\u0000\\s]*$', description: 'absolute export path on the server' }),
    ...SHARE_OPTION_PROPERTIES,
  },
  { additionalProperties: false }
);

/** The mount of a validated nfs definition. */
export function nfsMountSpec(def: StorageDefinition): NfsMountSpec {
  const o = def.options;
  return { server: serverAddress(o.server!), export: o.export!, path: o.path!, mountOptions: o.options };
}

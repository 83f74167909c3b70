import { Type } from '@sinclair/typebox';
import { InvalidConfigError, proxmoxBooleanSchema, storageFlag, type StorageDefinition } from '@corral/core';

const bool = proxmoxBooleanSchema();
const CEPH_NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';

/**
 * The `storage.cfg` options of an `rbd` storage (beyond `content`, `nodes`, `disable`,
 * `shared`), as Proxmox's RBDPlugin accepts them, plus `conf`. Values are strings.
 *
 * - `pool` (default `rbd`), `namespace`, `data-pool` (erasure-coded data pool).
 * - `monhost`: monitors of an external cluster, `host[:port]` separated by space, `,` or `;`
 *   (IPv6 in brackets). Without it the cluster comes from `conf` (default `/etc/ceph/ceph.conf`).
 * - `username`: the cephx id without `client.` (default `admin`).
 * - `keyring` (secret: kept out of storage.cfg by the facade): keyring file contents, or a bare
 *   base64 key.
 * - `conf`: path of a ceph.conf to use (Corral addition; Proxmox uses `/etc/pve/ceph.conf`).
 * - `krbd`: map images through the kernel for every consumer (containers always are); a
 *   Proxmox boolean (the key alone means true).
 * - `authsupported`: `cephx` or `none` (Proxmox's option).
 */
export const rbdOptionsSchema = Type.Object(
  {
    pool: Type.Optional(Type.String({ pattern: CEPH_NAME, description: 'RBD pool (default rbd)' })),
    namespace: Type.Optional(Type.String({ pattern: CEPH_NAME, description: 'RBD namespace in the pool' })),
    'data-pool': Type.Optional(Type.String({ pattern: CEPH_NAME, description: 'data pool for erasure coding' })),
    monhost: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.:\\[\\]_-]+(?:[,; ]+[A-Za-z0-9.:\\[\\]_-]+)*$', description: 'monitor addresses' })),
    username: Type.Optional(Type.String({ pattern: CEPH_NAME, description: 'cephx id (default admin)' })),
    keyring: Type.Optional(Type.String({ minLength: 1, description: 'keyring contents or a base64 key (secret)' })),
    conf: Type.Optional(Type.String({ pattern: '^/[^\\u0000]*$', description: 'path of a ceph.conf' })),
    krbd: Type.Optional(bool),
    authsupported: Type.Optional(Type.Union([Type.Literal('cephx'), Type.Literal('none')])),
  },
  { additionalProperties: false },
);

/** One monitor address. */
export interface MonitorAddress {
  /** Host name or IP (IPv6 without brackets). */
  readonly host: string;
  /** Port when given. */
  readonly port?: string;
}

/** The decoded options of an rbd storage. */
export interface RbdOptions {
  readonly pool: string;
  readonly namespace?: string;
  readonly dataPool?: string;
  /** Monitors (empty: from the conf). */
  readonly monitors: readonly MonitorAddress[];
  /** cephx id without `client.`. */
  readonly userId: string;
  /** A ceph.conf given by the definition. */
  readonly conf?: string;
  readonly krbd: boolean;
  readonly authSupported?: 'cephx' | 'none';
}

/**
 * Splits Proxmox's `monhost` list (`10.0.0.1 10.0.0.2:6789`, `[fd00::1]:3300;mon3`).
 *
 * @throws InvalidConfigError (key `monhost`) for an empty list or a bad port.
 */
export function parseMonhost(value: string): MonitorAddress[] {
  const out: MonitorAddress[] = [];
  for (const item of value.split(/[\s,;]+/).filter(Boolean)) {
    const v6 = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(item);
    const plain = /^([^:[\]]+)(?::(\d+))?$/.exec(item);
    const bareV6 = /^[0-9A-Fa-f]*:[0-9A-Fa-f:]+$/.test(item) && item.split(':').length > 2;
    const m = v6 ?? (bareV6 ? [item, item, undefined] : plain);
    if (!m) throw new InvalidConfigError('monhost', value, `monhost: '${item}' is not a host[:port]`);
    const port = m[2];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw new InvalidConfigError('monhost', value, `monhost: bad port in '${item}'`);
    out.push({ host: m[1]!, port });
  }
  if (out.length === 0) throw new InvalidConfigError('monhost', value, 'monhost lists no monitor');
  return out;
}

/** `host[:port]` with IPv6 in brackets. */
export function formatMonitor(m: MonitorAddress): string {
  const host = m.host.includes(':') ? `[${m.host}]` : m.host;
  return m.port ? `${host}:${m.port}` : host;
}

/** Decodes a validated definition's options. Throws `InvalidConfigError` for a bad `monhost`. */
export function rbdOptions(def: StorageDefinition): RbdOptions {
  const o = def.options;
  return {
    pool: o.pool ?? 'rbd',
    namespace: o.namespace,
    dataPool: o['data-pool'],
    monitors: o.monhost ? parseMonhost(o.monhost) : [],
    userId: o.username ?? 'admin',
    conf: o.conf,
    krbd: storageFlag(o.krbd) ?? false,
    authSupported: o.authsupported as RbdOptions['authSupported'],
  };
}

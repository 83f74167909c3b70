import { Type } from '@sinclair/typebox';
import { InvalidConfigError, type StorageDefinition } from '@corral/core';

/** Default iSCSI port, used when a portal names none. */
export const ISCSI_DEFAULT_PORT = 3260;

const IPV4 = '(?:\\d{1,3}\\.){3}\\d{1,3}';
const IPV6 = '\\[[0-9A-Fa-f:.]+\\]';
const DNS = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*';
/** Proxmox's `pve-storage-portal-dns`: an IPv4 address, a bracketed IPv6 address or a DNS name, with an optional port. */
const PORTAL = `^(?:${IPV4}|${IPV6}|${DNS})(?::\\d{1,5})?$`;
/** An iSCSI name (`iqn.`, `eui.`, `naa.`): no whitespace and no `/`, as it goes into `iscsi://` URLs. */
const TARGET = '^[^\\s/]+$';

/**
 * The `storage.cfg` options of the `iscsi` and `iscsidirect` types (beyond `content`, `nodes`,
 * `disable`, `shared`), as Proxmox's ISCSIPlugin and ISCSIDirectPlugin declare them. Both are
 * required (Proxmox marks them `fixed`).
 *
 * - `portal`: `host[:port]` of the target (IPv4, `[IPv6]` or a DNS name; port 3260 by default).
 * - `target`: the target's iSCSI name (`iqn.2003-01.org.example:disk1`).
 *
 * `bwlimit` is an option of Proxmox's types that core checks and decodes (`storageBandwidthLimit`).
 */
export const iscsiOptionsSchema = Type.Object(
  {
    portal: Type.String({ pattern: PORTAL, description: 'iSCSI portal: IP or DNS name with optional port' }),
    target: Type.String({ pattern: TARGET, minLength: 1, description: 'iSCSI target name' }),
  },
  { additionalProperties: false },
);

/** The decoded options of an iSCSI storage. */
export interface IscsiOptions {
  /** The portal as configured (`10.0.0.1`, `san:3261`, `[fd00::1]:3260`). */
  readonly portal: string;
  /** The target's iSCSI name. */
  readonly target: string;
}

/**
 * Decodes a validated definition's options.
 *
 * @throws InvalidConfigError naming `portal` or `target` when one is missing or malformed, or
 *   the portal's port is outside 1..65535.
 */
export function iscsiOptions(def: StorageDefinition): IscsiOptions {
  const { portal, target } = def.options;
  if (!portal || !new RegExp(PORTAL).test(portal)) {
    throw new InvalidConfigError('portal', portal, `storage '${def.id}' (${def.type}): portal '${portal ?? ''}' is not host[:port]`);
  }
  const port = /:(\d+)$/.exec(portal.replace(/^\[[^\]]*\]/, ''));
  if (port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    throw new InvalidConfigError('portal', portal, `storage '${def.id}' (${def.type}): portal port ${port[1]} is outside 1..65535`);
  }
  if (!target || !new RegExp(TARGET).test(target)) {
    throw new InvalidConfigError('target', target, `storage '${def.id}' (${def.type}): target '${target ?? ''}' is not an iSCSI name`);
  }
  return { portal, target };
}

/** `iscsi://<portal>/<target>/<lun>`, the URL libiscsi tools and QEMU take. */
export function iscsiUrl(opts: IscsiOptions, lun?: number): string {
  const base = `iscsi://${opts.portal}/${opts.target}`;
  return lun === undefined ? base : `${base}/${lun}`;
}

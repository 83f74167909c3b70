/**
 * What QEMU needs to open an rbd image through librbd: the `-blockdev` JSON of the `rbd`
 * protocol driver (QEMU 7.2 `BlockdevOptionsRbd`: pool, namespace, image, conf, snapshot,
 * user, auth-client-required, key-secret, server) and the legacy filename
 * `rbd:<pool>[/<ns>]/<image>[@<snap>]:conf=...:id=...` (for `qemu-img`/`qemu-io` and humans).
 *
 * @packageDocumentation
 */
import type { VolumeAccess } from '@corral/core';
import type { RbdConnection } from './RbdConnection.js';
import type { RbdLocation } from './RbdCommands.js';
import type { MonitorAddress } from './rbdOptions.js';

/** Escapes a value of the legacy `rbd:` filename (`\`, `:` and `@` are special). */
function esc(value: string): string {
  return value.replace(/[\\:@]/g, (c) => `\\${c}`);
}

/** Options of {@link rbdQemuAccess}. */
export interface RbdQemuAccessOptions {
  readonly connection: RbdConnection;
  readonly location: RbdLocation;
  readonly image: string;
  readonly snapshot?: string;
  /** The definition's monitors (become `server`, default port 3300 = msgr2, as Proxmox). */
  readonly monitors: readonly MonitorAddress[];
}

/**
 * The `qemu` access of an image. The conf carries monitors and keyring (see
 * {@link prepareRbdConnection}), so `{driver, pool, image, conf, user}` is enough;
 * `server` and `auth-client-required` are added as Proxmox does when the definition has
 * `monhost` / `authsupported`. No `key-secret`: the key is read from the keyring the conf
 * names, so no secret object has to be created in QEMU.
 */
export function rbdQemuAccess(o: RbdQemuAccessOptions): Extract<VolumeAccess, { kind: 'qemu' }> {
  const { connection: c, location: loc } = o;
  const blockdev: Record<string, unknown> = { driver: 'rbd', pool: loc.pool };
  if (loc.namespace) blockdev.namespace = loc.namespace;
  blockdev.image = o.image;
  if (o.snapshot) blockdev.snapshot = o.snapshot;
  blockdev.conf = c.confPath;
  blockdev.user = c.userId;
  if (o.monitors.length > 0) blockdev.server = o.monitors.map((m) => ({ host: m.host, port: m.port ?? '3300' }));
  if (c.authSupported) blockdev['auth-client-required'] = [c.authSupported];

  let url = `rbd:${esc(loc.pool)}/${loc.namespace ? `${esc(loc.namespace)}/` : ''}${esc(o.image)}${o.snapshot ? `@${esc(o.snapshot)}` : ''}`;
  url += `:conf=${esc(c.confPath)}`;
  if (c.monHost) url += `:mon_host=${o.monitors.map((m) => esc(m.host.includes(':') ? `[${m.host}]` : m.host) + (m.port ? `\\:${m.port}` : '')).join(';')}`;
  if (c.authSupported) url += `:auth_supported=${c.authSupported}`;
  url += `:id=${esc(c.userId)}`;
  if (c.keyringPath) url += `:keyring=${esc(c.keyringPath)}`;
  return { kind: 'qemu', blockdev, url, format: 'raw' };
}

import { isIPv6 } from 'node:net';
import type { VolumeAccess, VolumeFormat } from '@corral/core';
import { GLUSTERD_PORT } from './glusterfsProbe.js';
import type { GlusterTransport } from './glusterfsOptions.js';

/** Where a file is in a Gluster volume. */
export interface GlusterFileLocation {
  /** The volfile server QEMU asks (the active one of `server`, `server2`). */
  readonly server: string;
  readonly volume: string;
  /** Path inside the volume, relative (`images/100/vm-100-disk-0.qcow2`). */
  readonly path: string;
  readonly transport?: GlusterTransport;
}

/**
 * The `qemu` access of a file in a Gluster volume, through QEMU's libgfapi driver (Debian
 * `qemu-block-extra`): a `-blockdev` protocol node `{ driver: 'gluster', volume, path,
 * server: [{ type: 'inet', host, port: '24007' }] }` and the URL pve's `path` gives,
 * `gluster[+<transport>]://<server>/<volume>/<path>`. Undefined for transport `unix`, whose URL
 * needs a local socket path Proxmox does not know (the file on the mount is used instead).
 */
export function glusterfsQemuAccess(loc: GlusterFileLocation, format: VolumeFormat): Extract<VolumeAccess, { kind: 'qemu' }> | undefined {
  if (loc.transport === 'unix') return undefined;
  const scheme = loc.transport !== undefined ? `gluster+${loc.transport}` : 'gluster';
  const host = isIPv6(loc.server) ? `[${loc.server}]` : loc.server;
  return {
    kind: 'qemu',
    blockdev: {
      driver: 'gluster',
      volume: loc.volume,
      path: loc.path,
      server: [{ type: 'inet', host: loc.server, port: String(GLUSTERD_PORT) }],
    },
    url: `${scheme}://${host}/${loc.volume}/${loc.path}`,
    format,
  };
}

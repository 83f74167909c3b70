import { isIPv6 } from 'node:net';
import type { ShareMount } from '@corral/core';

/** What identifies one NFS mount: server, export, local mount point, mount options. */
export interface NfsMountSpec {
  readonly server: string;
  readonly export: string;
  readonly path: string;
  readonly mountOptions?: string;
}

/** `server:export`, with an IPv6 server in brackets (`[fd00::5]:/srv`), as `mount.nfs` wants it. */
export function nfsSource(spec: Pick<NfsMountSpec, 'server' | 'export'>): string {
  const host = isIPv6(spec.server) ? `[${spec.server}]` : spec.server;
  return `${host}:${spec.export}`;
}

/** The argv that mounts the export: `mount -t nfs <server:export> <path> [-o <options>]` (pve's `nfs_mount`). */
export function nfsMountArgv(spec: NfsMountSpec): string[] {
  const argv = ['mount', '-t', 'nfs', nfsSource(spec), spec.path];
  if (spec.mountOptions) argv.push('-o', spec.mountOptions);
  return argv;
}

/** The {@link ShareMount} of an NFS export. */
export function nfsShareMount(spec: NfsMountSpec): ShareMount {
  return { fstype: 'nfs', source: nfsSource(spec), path: spec.path, argv: nfsMountArgv(spec) };
}

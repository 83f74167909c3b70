import type { MountEntry, ShareMount } from '@corral/core';
import type { GlusterfsSpec } from './glusterfsOptions.js';

/** `<server>:<volume>`, the source `mount.glusterfs` takes and /proc/mounts shows. */
export function glusterfsSource(spec: Pick<GlusterfsSpec, 'server' | 'volume'>): string {
  return `${spec.server}:${spec.volume}`;
}

/**
 * The argv that mounts the volume: `mount -t glusterfs <server>:<volume> <path>` (pve's
 * `glusterfs_mount`), plus `-o backup-volfile-servers=<server2>` when a backup server is set
 * (Proxmox instead mounts from whichever of the two answers first).
 */
export function glusterfsMountArgv(spec: GlusterfsSpec): string[] {
  const argv = ['mount', '-t', 'glusterfs', glusterfsSource(spec), spec.path];
  if (spec.server2 !== undefined) argv.push('-o', `backup-volfile-servers=${spec.server2}`);
  return argv;
}

/** The share mount of a glusterfs storage (filesystem type `fuse.glusterfs`). */
export function glusterfsShareMount(spec: GlusterfsSpec): ShareMount {
  return { fstype: 'fuse.glusterfs', source: glusterfsSource(spec), path: spec.path, argv: glusterfsMountArgv(spec) };
}

/**
 * True when `mounts` holds a `fuse.glusterfs` mount of `volume` from any server (`<host>:<volume>`
 * or `<host>:/<volume>`) on exactly `path`, as pve's `glusterfs_is_mounted` (the client may
 * have mounted from the backup server).
 */
export function isGlusterfsMounted(volume: string, path: string, mounts: readonly MountEntry[]): boolean {
  return mounts.some((m) => {
    if (m.fstype !== 'fuse.glusterfs' || m.target !== path) return false;
    const colon = m.source.lastIndexOf(':');
    return colon > 0 && !/\s/.test(m.source) && m.source.slice(colon + 1).replace(/^\//, '') === volume;
  });
}

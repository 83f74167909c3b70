import { isIPv4, isIPv6 } from 'node:net';
import type { CommandRunner } from '@corral/core';

/** The connection probe runs at most this long, ms (pve uses 10 s). */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * The argv that checks an NFS server answers, as pve's `check_connection`: with `vers=4...` in
 * the mount options `rpcinfo -T tcp|tcp6 <server> nfs 4` (NFSv4 lists no exports), otherwise
 * `showmount --no-headers --exports <server>`.
 */
export function nfsProbeArgv(server: string, mountOptions: string | undefined): string[] {
  if (mountOptions !== undefined && /(?:^|,)vers=4/.test(mountOptions)) {
    const transport = isIPv6(server) && !isIPv4(server) ? 'tcp6' : 'tcp';
    return ['rpcinfo', '-T', transport, server, 'nfs', '4'];
  }
  return ['showmount', '--no-headers', '--exports', server];
}

/**
 * True when the server answers the probe of {@link nfsProbeArgv}; false when the probe fails
 * or times out (never throws for an unreachable server).
 */
export async function nfsServerReachable(runner: CommandRunner, server: string, mountOptions: string | undefined, signal?: AbortSignal): Promise<boolean> {
  try {
    await runner.run(nfsProbeArgv(server, mountOptions), {
      timeoutMs: PROBE_TIMEOUT_MS,
      signal,
    });
    return true;
  } catch {
    return false;
  }
}

/** The export paths `showmount --no-headers --exports` printed (first column of each line). */
export function parseShowmountExports(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((p) => p.startsWith('/'));
}

import { connect } from 'node:net';
import type { CommandRunner } from '@corral/core';
import type { GlusterfsSpec } from './glusterfsOptions.js';

/** The TCP port glusterd listens on for volfile and management requests. */
export const GLUSTERD_PORT = 24007;

/** A TCP probe of glusterd gives up after this long, ms (pve's `tcp_ping` uses 2 s). */
const TCP_PROBE_TIMEOUT_MS = 2_000;

/** `gluster volume info` runs at most this long, ms. */
const CLI_PROBE_TIMEOUT_MS = 10_000;

/** Servers pve checks with the gluster CLI instead of a TCP probe. */
const LOCAL_SERVERS = new Set(['localhost', '127.0.0.1', '::1']);

/** True when a TCP connection to `host:port` opens within 2 s (pve's `tcp_ping` of glusterd). Never throws. */
export function glusterdAnswers(host: string, port = GLUSTERD_PORT, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: TCP_PROBE_TIMEOUT_MS, signal });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** `gluster --mode=script volume info <volume>`: the local check pve runs for `localhost` servers. */
export function glusterVolumeInfoArgv(volume: string): string[] {
  return ['gluster', '--mode=script', 'volume', 'info', volume];
}

/** True when `gluster volume info` output says the volume is started (a `Status: Started` line). */
export function volumeInfoSaysStarted(stdout: string): boolean {
  return stdout.split('\n').some((l) => l.trim() === 'Status: Started');
}

/**
 * True when the volume's server answers, as pve's `get_active_server`: a local server
 * (`localhost`, `127.0.0.1`, `::1`) through {@link glusterVolumeInfoArgv} (the volume must be
 * started), any other by a TCP connection to glusterd's port 24007. False on any failure.
 */
export async function glusterServerAnswers(runner: CommandRunner, server: string, volume: string, signal?: AbortSignal): Promise<boolean> {
  if (!LOCAL_SERVERS.has(server)) return glusterdAnswers(server, GLUSTERD_PORT, signal);
  try {
    const res = await runner.run(glusterVolumeInfoArgv(volume), { timeoutMs: CLI_PROBE_TIMEOUT_MS, signal });
    return volumeInfoSaysStarted(res.stdout);
  } catch {
    return false;
  }
}

/**
 * The first of `server`, `server2` that answers ({@link glusterServerAnswers}), or undefined
 * when neither does (pve's `get_active_server`).
 */
export async function activeGlusterServer(runner: CommandRunner, spec: GlusterfsSpec, signal?: AbortSignal): Promise<string | undefined> {
  for (const server of [spec.server, ...(spec.server2 !== undefined ? [spec.server2] : [])]) {
    if (await glusterServerAnswers(runner, server, spec.volume, signal)) return server;
  }
  return undefined;
}

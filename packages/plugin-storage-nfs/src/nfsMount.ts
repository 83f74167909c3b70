import { isIPv6 } from "node:net";
import type { CommandRunner } from "@corral/core";
import type { MountEntry } from "./procMounts.js";

/** What identifies one NFS mount: server, export, local mount point, mount options. */
export interface NfsMountSpec {
  readonly server: string;
  readonly export: string;
  readonly path: string;
  readonly mountOptions?: string;
}

/** `mount` and `umount` run at most this long, ms (a hung server must not hang the caller forever). */
const MOUNT_TIMEOUT_MS = 60_000;

/** `server:export`, with an IPv6 server in brackets (`[fd00::5]:/srv`), as `mount.nfs` wants it. */
export function nfsSource(
  spec: Pick<NfsMountSpec, "server" | "export">
): string {
  const host = isIPv6(spec.server) ? `[${spec.server}]` : spec.server;
  return `${host}:${spec.export}`;
}

/**
 * True when `mounts` holds an `nfs`/`nfs4` mount of `server:export` (a trailing `/` on the
 * source is accepted) on exactly `spec.path`, as pve's `nfs_is_mounted`.
 */
export function nfsIsMounted(
  spec: NfsMountSpec,
  mounts: readonly MountEntry[]
): boolean {
  const source = nfsSource(spec);
  return mounts.some(
    (m) =>
      m.fstype.startsWith("nfs") &&
      (m.source === source || m.source === `${source}/`) &&
      m.target === spec.path
  );
}

/** The argv that mounts the export: `mount -t nfs <server:export> <path> [-o <options>]`. */
export function nfsMountArgv(spec: NfsMountSpec): string[] {
  const argv = ["mount", "-t", "nfs", nfsSource(spec), spec.path];
  if (spec.mountOptions) argv.push("-o", spec.mountOptions);
  return argv;
}

/** Mounts the export through `runner` (throws the runner's `CommandFailedError` on failure). */
export async function mountNfs(
  runner: CommandRunner,
  spec: NfsMountSpec,
  signal?: AbortSignal
): Promise<void> {
  await runner.run(nfsMountArgv(spec), { timeoutMs: MOUNT_TIMEOUT_MS, signal });
}

/** Unmounts `spec.path` (`umount <path>`). */
export async function unmountNfs(
  runner: CommandRunner,
  spec: NfsMountSpec,
  signal?: AbortSignal
): Promise<void> {
  await runner.run(["umount", spec.path], {
    timeoutMs: MOUNT_TIMEOUT_MS,
    signal,
  });
}

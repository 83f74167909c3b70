import type { CommandRunner } from "@corral/core";
import {
  mountNfs,
  nfsIsMounted,
  unmountNfs,
  type NfsMountSpec,
} from "./nfsMount.js";
import { readProcMounts } from "./procMounts.js";

/**
 * How the driver mounts and checks an NFS export. The default ({@link KernelNfsMounter}) is
 * the host's kernel client; another implementation stands in where no kernel mount is
 * possible (see the package README).
 */
export interface NfsMounter {
  /** True when the export is mounted on `spec.path`. Never throws for "not mounted". */
  isMounted(spec: NfsMountSpec): Promise<boolean>;
  /** Mounts the export on `spec.path` (which exists). Throws on failure. */
  mount(
    runner: CommandRunner,
    spec: NfsMountSpec,
    signal?: AbortSignal
  ): Promise<void>;
  /** Unmounts `spec.path`. */
  unmount(
    runner: CommandRunner,
    spec: NfsMountSpec,
    signal?: AbortSignal
  ): Promise<void>;
}

/**
 * The kernel NFS client: `mount -t nfs` / `umount` through the storage's CommandRunner, and
 * /proc/mounts (`procMountsFile`, default `/proc/mounts`) for the mounted check.
 */
export class KernelNfsMounter implements NfsMounter {
  constructor(private readonly procMountsFile = "/proc/mounts") {}

  async isMounted(spec: NfsMountSpec): Promise<boolean> {
    const mounts = await readProcMounts(this.procMountsFile).catch(() => []);
    return nfsIsMounted(spec, mounts);
  }

  async mount(
    runner: CommandRunner,
    spec: NfsMountSpec,
    signal?: AbortSignal
  ): Promise<void> {
    await mountNfs(runner, spec, signal);
  }

  async unmount(
    runner: CommandRunner,
    spec: NfsMountSpec,
    signal?: AbortSignal
  ): Promise<void> {
    await unmountNfs(runner, spec, signal);
  }
}

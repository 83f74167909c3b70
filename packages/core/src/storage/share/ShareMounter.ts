import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommandRunner } from '../../exec/CommandRunner.js';
import { isShareMounted, type ShareMount } from './ShareMount.js';
import { readProcMounts } from './procMounts.js';

/**
 * How the driver mounts and checks a share. The default ({@link KernelShareMounter}) is the
 * host's client (the type's `mount` argv); another implementation stands in where no kernel
 * mount is possible (a test bind-mounting a directory), or extends it where a filesystem's
 * mounted check differs.
 */
export interface ShareMounter {
  /** True when the share is mounted on `share.path`. Never throws for "not mounted". */
  isMounted(share: ShareMount): Promise<boolean>;
  /** Mounts the share on `share.path` (which exists). Throws on failure. */
  mount(runner: CommandRunner, share: ShareMount, signal?: AbortSignal): Promise<void>;
  /** Unmounts `share.path`. */
  unmount(runner: CommandRunner, share: ShareMount, signal?: AbortSignal): Promise<void>;
}

/** `mount` and `umount` run at most this long, ms (a hung server must not hang the caller forever). */
const MOUNT_TIMEOUT_MS = 60_000;

/** Writes a share's private files (mode 0600, also when the file existed; missing directories 0700). */
export async function writeShareFiles(share: ShareMount): Promise<void> {
  for (const f of share.files ?? []) {
    await mkdir(dirname(f.path), { recursive: true, mode: 0o700 });
    await writeFile(f.path, f.content, { mode: 0o600 });
    await chmod(f.path, 0o600);
  }
}

/**
 * The kernel client: `share.argv` (`mount -t <fstype> ...`) and `umount <path>` through the
 * storage's CommandRunner, /proc/mounts (`procMountsFile`, default `/proc/mounts`) for the
 * mounted check.
 */
export class KernelShareMounter implements ShareMounter {
  constructor(private readonly procMountsFile = '/proc/mounts') {}

  async isMounted(share: ShareMount): Promise<boolean> {
    const mounts = await readProcMounts(this.procMountsFile).catch(() => []);
    return isShareMounted(share, mounts);
  }

  async mount(runner: CommandRunner, share: ShareMount, signal?: AbortSignal): Promise<void> {
    await writeShareFiles(share);
    await runner.run(share.argv, { timeoutMs: MOUNT_TIMEOUT_MS, signal });
  }

  async unmount(runner: CommandRunner, share: ShareMount, signal?: AbortSignal): Promise<void> {
    await runner.run(['umount', share.path], { timeoutMs: MOUNT_TIMEOUT_MS, signal });
  }
}

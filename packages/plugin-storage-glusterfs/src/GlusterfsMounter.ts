import { type CommandRunner, KernelShareMounter, readProcMounts, type ShareMount } from '@corral/core';
import { isGlusterfsMounted } from './glusterfsMount.js';

/** Mounts in progress in this process, by mount point (shared by every mounter, so two kernels in one process take turns). */
const mountsInProgress = new Map<string, Promise<void>>();

/**
 * Mounts a glusterfs storage with the kernel's FUSE client (`mount -t glusterfs`, which starts
 * the `glusterfs` client process) and `umount`; the mounted check is pve's
 * `glusterfs_is_mounted`: a `fuse.glusterfs` entry of the volume from any server on `path`
 * in /proc/mounts (`procMountsFile`, default `/proc/mounts`).
 *
 * Two activations at once would stack two FUSE mounts on one path (`mount.glusterfs` checks
 * /etc/mtab before mounting, both find nothing; tested), so mounts of one path take turns in
 * this process and each checks /proc/mounts again first; a mount that fails while the volume
 * is then mounted on `path` (another process won) counts as done. Processes do not
 * coordinate (neither does Proxmox).
 */
export class GlusterfsMounter extends KernelShareMounter {
  constructor(private readonly mountsFile = '/proc/mounts') {
    super(mountsFile);
  }

  override async isMounted(share: ShareMount): Promise<boolean> {
    const mounts = await readProcMounts(this.mountsFile).catch(() => []);
    const volume = share.source.slice(share.source.lastIndexOf(':') + 1);
    return isGlusterfsMounted(volume, share.path, mounts);
  }

  override async mount(runner: CommandRunner, share: ShareMount, signal?: AbortSignal): Promise<void> {
    const before = mountsInProgress.get(share.path) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.#mountOnce(runner, share, signal));
    mountsInProgress.set(share.path, mine);
    try {
      await mine;
    } finally {
      if (mountsInProgress.get(share.path) === mine) mountsInProgress.delete(share.path);
    }
  }

  async #mountOnce(runner: CommandRunner, share: ShareMount, signal?: AbortSignal): Promise<void> {
    if (await this.isMounted(share)) return;
    try {
      await super.mount(runner, share, signal);
    } catch (err) {
      if (!(await this.isMounted(share))) throw err;
    }
  }
}

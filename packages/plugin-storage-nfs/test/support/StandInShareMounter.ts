import type { CommandRunner, ShareMount, ShareMounter } from '@corral/core';

/**
 * A mounter for this kernel, which has neither an NFS nor a CIFS client: the storage's `path`
 * is the directory the test server (ganesha, smbd) serves, so it stands in for the mount
 * point (files written there are what the server serves). `mount` runs `check` (a real probe
 * of the server: showmount, smbclient) and then records the path as mounted; `unmount`
 * forgets it. The mount argv itself is tested with a RecordingCommandRunner.
 */
export class StandInShareMounter implements ShareMounter {
  readonly mounted = new Set<string>();

  constructor(private readonly check: (runner: CommandRunner, share: ShareMount) => Promise<void>) {}

  async isMounted(share: ShareMount): Promise<boolean> {
    return this.mounted.has(share.path);
  }

  async mount(runner: CommandRunner, share: ShareMount): Promise<void> {
    await this.check(runner, share);
    this.mounted.add(share.path);
  }

  async unmount(_runner: CommandRunner, share: ShareMount): Promise<void> {
    this.mounted.delete(share.path);
  }
}

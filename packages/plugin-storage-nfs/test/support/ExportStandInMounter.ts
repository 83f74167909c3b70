import type { CommandRunner } from "@corral/core";
import {
  nfsServerReachable,
  parseShowmountExports,
  type NfsMounter,
  type NfsMountSpec,
} from "../../src/index.js";

/**
 * A mounter for this kernel, which has no NFS client: the storage's `path` is the directory
 * the test server exports, so it stands in for the mount point (files written there are what
 * the server serves). `mount` checks for real that the server exports `export` (`showmount
 * --no-headers --exports`, through the runner) and then records the path as mounted;
 * `unmount` forgets it. The mount argv itself is tested with a RecordingCommandRunner.
 */
export class ExportStandInMounter implements NfsMounter {
  readonly mounted = new Set<string>();
  readonly calls: string[] = [];

  async isMounted(spec: NfsMountSpec): Promise<boolean> {
    return this.mounted.has(spec.path);
  }

  async mount(runner: CommandRunner, spec: NfsMountSpec): Promise<void> {
    this.calls.push(`mount ${spec.server}:${spec.export} ${spec.path}`);
    if (!(await nfsServerReachable(runner, spec.server, undefined)))
      throw new Error(`NFS server ${spec.server} does not answer`);
    const res = await runner.run(
      ["showmount", "--no-headers", "--exports", spec.server],
      { timeoutMs: 10_000 }
    );
    if (!parseShowmountExports(res.stdout).includes(spec.export))
      throw new Error(`${spec.server} does not export ${spec.export}`);
    this.mounted.add(spec.path);
  }

  async unmount(_runner: CommandRunner, spec: NfsMountSpec): Promise<void> {
    this.calls.push(`umount ${spec.path}`);
    this.mounted.delete(spec.path);
  }
}

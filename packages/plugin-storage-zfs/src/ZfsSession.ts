import { join } from 'node:path';
import type { RunOptions, RunResult, StorageContext } from '@corral/core';
import { ZfsCommands, type ZfsGetOptions } from './ZfsCommands.js';
import { mapZfsError, zfsFailure, type ZfsErrorContext } from './zfsErrors.js';
import { zfsOptions, type ZfsOptions } from './zfsOptions.js';
import { parseZfsGet } from './parseZfsGet.js';

/** Settings of a {@link ZfsStorageDriver} instance (all have defaults). */
export interface ZfsDriverConfig {
  /** Where zvol device links appear (`<root>/<pool>/<name>`). Default `/dev/zvol`. */
  readonly zvolDeviceRoot: string;
  /** How long to wait for a zvol's device link after create/clone, ms (Proxmox: 10 s). Default 10 000. */
  readonly zvolDeviceWaitMs: number;
  /** Timeout of metadata commands (create, get, destroy...), ms. Default 60 000. Streams have none. */
  readonly commandTimeoutMs: number;
}

/** Answers of one-time probes of what the host's ZFS can do, per zpool name. */
export interface ZfsProbeCache {
  /** Whether `acltype` is a known property (OpenZFS yes, zfs-fuse no). */
  readonly posixAcl: Map<string, Promise<boolean>>;
}

/**
 * One driver call's view of a zfspool storage: decoded options, names, and a command runner
 * that applies the timeout and the call's AbortSignal.
 */
export class ZfsSession {
  /** Decoded storage options. */
  readonly opts: ZfsOptions;

  constructor(
    readonly ctx: StorageContext,
    readonly config: ZfsDriverConfig,
    private readonly probes: ZfsProbeCache,
  ) {
    this.opts = zfsOptions(ctx.storage);
  }

  /** Storage id. */
  get sid(): string {
    return this.ctx.storage.id;
  }

  /** The dataset holding the volumes. */
  get pool(): string {
    return this.opts.pool;
  }

  /** Full dataset name of a volume (`tank/vm-100-disk-0`). */
  dataset(name: string): string {
    return `${this.pool}/${name}`;
  }

  /** `storeid:volname`. */
  volid(volname: string): string {
    return `${this.sid}:${volname}`;
  }

  /** Device link of a zvol (`/dev/zvol/<pool>/<name>`). */
  zvolPath(name: string): string {
    return join(this.config.zvolDeviceRoot, this.pool, name);
  }

  /** Runs a command with the metadata timeout and the call's signal (override either in `options`). */
  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return this.ctx.runner.run(argv, { timeoutMs: this.config.commandTimeoutMs, signal: this.ctx.signal, ...options });
  }

  /** `zfs get -Hp -o name,property,value`, parsed. Rejects with the raw command error. */
  async get(props: readonly string[], targets: readonly string[], options: ZfsGetOptions = {}): Promise<Map<string, Map<string, string>>> {
    const r = await this.run(ZfsCommands.get(props, targets, options));
    return parseZfsGet(r.stdout);
  }

  /** The context {@link mapZfsError} needs, with `extra` fields. */
  errorContext(extra: Partial<ZfsErrorContext> = {}): ZfsErrorContext {
    return { storage: this.sid, pool: this.pool, ...extra };
  }

  /** Maps `err` (see {@link mapZfsError}) and throws it. */
  fail(err: unknown, extra: Partial<ZfsErrorContext> = {}): never {
    throw mapZfsError(err, this.errorContext(extra));
  }

  /**
   * Whether this ZFS knows `acltype` (probed once per zpool with `zfs get -H -o value acltype
   * <pool>`): OpenZFS does and gets Proxmox's `-o acltype=posixacl -o xattr=sa` on new
   * subvols; zfs-fuse exits 2 ("bad property list: invalid property 'acltype'").
   */
  posixAclSupported(): Promise<boolean> {
    const key = this.opts.poolName;
    let p = this.probes.posixAcl.get(key);
    if (!p) {
      p = this.run(ZfsCommands.probeProperty('acltype', this.pool)).then(
        () => true,
        (err: unknown) => {
          if (err instanceof Error && /invalid property 'acltype'|bad property list/.test((err as { stderr?: string }).stderr ?? '')) return false;
          this.probes.posixAcl.delete(key);
          if (zfsFailure(err)) this.fail(err);
          throw err;
        },
      );
      this.probes.posixAcl.set(key, p);
    }
    return p;
  }
}

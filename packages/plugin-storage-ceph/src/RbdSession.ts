import type { RunOptions, RunResult, StorageContext } from '@corral/core';
import { RbdCommands, poolSpec } from './RbdCommands.js';
import { prepareRbdConnection, type RbdConnection } from './RbdConnection.js';
import { mapRbdError, type RbdErrorContext } from './rbdErrors.js';
import { rbdOptions, type RbdOptions } from './rbdOptions.js';

/** Settings of an {@link RbdStorageDriver} instance (all have defaults). */
export interface RbdDriverConfig {
  /** How long librados waits for the monitors before giving up, ms (`client_mount_timeout`). Default 10 000. */
  readonly connectTimeoutMs: number;
  /** Timeout of metadata commands (create, info, snap...), ms. Default 120 000. Streams have none. */
  readonly commandTimeoutMs: number;
}

/**
 * One driver call's view of an rbd storage: decoded options, the prepared connection (conf and
 * keyring files), argv builders, and a runner applying timeouts, the call's signal and error
 * mapping.
 */
export class RbdSession {
  private constructor(
    readonly ctx: StorageContext,
    readonly config: RbdDriverConfig,
    readonly opts: RbdOptions,
    readonly connection: RbdConnection,
    readonly cmd: RbdCommands,
  ) {}

  /** Decodes the definition and prepares the connection files. */
  static async open(ctx: StorageContext, config: RbdDriverConfig): Promise<RbdSession> {
    const opts = rbdOptions(ctx.storage);
    const connection = await prepareRbdConnection(ctx, opts, Math.max(1, Math.ceil(config.connectTimeoutMs / 1000)));
    return new RbdSession(ctx, config, opts, connection, new RbdCommands(connection, { pool: opts.pool, namespace: opts.namespace }));
  }

  get sid(): string {
    return this.ctx.storage.id;
  }

  /** `storeid:volname`. */
  volid(volname: string): string {
    return `${this.sid}:${volname}`;
  }

  /** The context {@link mapRbdError} needs. */
  errorContext(extra: Partial<RbdErrorContext> = {}): RbdErrorContext {
    return {
      storage: this.sid,
      location: poolSpec(this.cmd.location),
      cluster: this.connection.monHost ? `monhost ${this.connection.monHost}` : `conf ${this.connection.confPath}`,
      connectTimeoutSeconds: this.connection.connectTimeoutSeconds,
      ...extra,
    };
  }

  /** Maps `err` (see {@link mapRbdError}) and throws it. */
  fail(err: unknown, extra: Partial<RbdErrorContext> = {}): never {
    throw mapRbdError(err, this.errorContext(extra));
  }

  /**
   * Runs a command with the metadata timeout (plus the connect timeout) and the call's
   * signal; failures are mapped with `extra` as context.
   */
  async run(argv: readonly string[], extra: Partial<RbdErrorContext> = {}, options: RunOptions = {}): Promise<RunResult> {
    try {
      return await this.exec(argv, options);
    } catch (err) {
      this.fail(err, extra);
    }
  }

  /** Like {@link run} but rejects with the runner's own error (callers that classify it themselves). */
  exec(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return this.ctx.runner.run(argv, {
      timeoutMs: this.config.commandTimeoutMs + this.config.connectTimeoutMs,
      signal: this.ctx.signal,
      ...options,
    });
  }
}

import { join } from 'node:path';
import { UnavailableError, type RunOptions, type RunResult, type StorageContext } from '@corral/core';
import { LvmCommands } from './LvmCommands.js';
import { lvmFailure, mapLvmError, type LvmErrorContext } from './lvmErrors.js';
import { lvmOptions, type LvmOptions } from './lvmOptions.js';
import { parseLvmThinVolname, parseLvmVolname, type LvmVolname } from './lvmVolname.js';
import { parseLvsReport, parseVgsReport, type LvmLv, type LvmVg } from './parseLvmReport.js';

/** Settings of an lvm/lvmthin driver instance (all have defaults). */
export interface LvmDriverConfig {
  /** Where LV device nodes appear (`<root>/<vg>/<lv>`). Default `/dev`. */
  readonly deviceRoot: string;
  /** Timeout of LVM metadata commands, ms. Default 60 000. Data copies have none. */
  readonly commandTimeoutMs: number;
  /**
   * Environment added to every LVM command. Default `{ LVM_SUPPRESS_FD_WARNINGS: '1' }`; tests
   * add `LVM_SYSTEM_DIR` (a private lvm.conf with activation disabled and a device filter).
   */
  readonly env: Readonly<Record<string, string>>;
}

/** The two storage types of this package. */
export type LvmStorageType = 'lvm' | 'lvmthin';

/**
 * One driver call's view of an lvm or lvmthin storage: decoded options, names, device paths,
 * and a runner that applies the timeout, the environment and the call's AbortSignal.
 */
export class LvmSession {
  readonly opts: LvmOptions;

  constructor(
    readonly ctx: StorageContext,
    readonly config: LvmDriverConfig,
    readonly type: LvmStorageType,
  ) {
    this.opts = lvmOptions(ctx.storage);
  }

  get sid(): string {
    return this.ctx.storage.id;
  }

  /** Volume group. */
  get vg(): string {
    return this.opts.vg;
  }

  /** `storeid:volname`. */
  volid(volname: string): string {
    return `${this.sid}:${volname}`;
  }

  /** Decodes a volume name of this storage type. */
  parse(volname: string): LvmVolname {
    return this.type === 'lvm' ? parseLvmVolname(volname) : parseLvmThinVolname(volname);
  }

  /** Device node of an LV (`/dev/<vg>/<lv>`). */
  devicePath(lv: string): string {
    return join(this.config.deviceRoot, this.vg, lv);
  }

  /** Runs a command with the metadata timeout, the LVM environment and the call's signal. */
  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return this.ctx.runner.run(argv, { timeoutMs: this.config.commandTimeoutMs, signal: this.ctx.signal, ...options, env: { ...this.config.env, ...options.env } });
  }

  errorContext(extra: Partial<LvmErrorContext> = {}): LvmErrorContext {
    return { storage: this.sid, vg: this.vg, pool: this.opts.thinpool, ...extra };
  }

  /** Maps `err` (see {@link mapLvmError}) and throws it. */
  fail(err: unknown, extra: Partial<LvmErrorContext> = {}): never {
    throw mapLvmError(err, this.errorContext(extra));
  }

  /**
   * Every LV of the volume group (hidden ones in brackets), from one `lvs` report.
   *
   * @throws UnavailableError when the VG does not exist.
   */
  async listLvs(): Promise<LvmLv[]> {
    try {
      const r = await this.run(LvmCommands.lvs(this.vg));
      return parseLvsReport(r.stdout);
    } catch (err) {
      this.fail(err);
    }
  }

  /** One LV by name, or undefined. */
  async findLv(name: string): Promise<LvmLv | undefined> {
    return (await this.listLvs()).find((lv) => lv.name === name);
  }

  /**
   * The volume group's size and free space, or undefined when it does not exist.
   *
   * @throws UnavailableError or the raw command error for other failures.
   */
  async vgInfo(): Promise<LvmVg | undefined> {
    try {
      const r = await this.run(LvmCommands.vgs(this.vg));
      return parseVgsReport(r.stdout).find((v) => v.name === this.vg);
    } catch (err) {
      if (lvmFailure(err) === 'no-vg') return undefined;
      this.fail(err);
    }
  }

  /** {@link vgInfo}, throwing `UnavailableError` when the VG is missing. */
  async requireVg(): Promise<LvmVg> {
    const vg = await this.vgInfo();
    if (!vg) throw new UnavailableError(`storage:${this.sid}`, `storage '${this.sid}': volume group '${this.vg}' does not exist`);
    return vg;
  }
}

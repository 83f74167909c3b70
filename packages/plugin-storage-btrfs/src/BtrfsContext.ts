import type { CommandRunner, Logger, StorageContext } from '@corral/core';
import { BtrfsLayout } from './BtrfsLayout.js';
import { btrfsOptions, type BtrfsOptions } from './btrfsOptions.js';

/** What every btrfs operation needs, derived from the facade's {@link StorageContext}. */
export interface BtrfsContext {
  /** Storage id (for volids and errors). */
  readonly sid: string;
  readonly layout: BtrfsLayout;
  readonly options: BtrfsOptions;
  readonly runner: CommandRunner;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** Builds a {@link BtrfsContext}. */
export function btrfsContext(ctx: StorageContext): BtrfsContext {
  const options = btrfsOptions(ctx.storage);
  return { sid: ctx.storage.id, layout: new BtrfsLayout(options.path), options, runner: ctx.runner, log: ctx.log, signal: ctx.signal };
}

/** `storeid:volname`. */
export function volidOf(bc: BtrfsContext, volname: string): string {
  return `${bc.sid}:${volname}`;
}

/** Runs a btrfs-progs argv through the context's runner (2 minutes at most, the context's signal). */
export async function runBtrfs(bc: BtrfsContext, argv: readonly string[], options: { okExitCodes?: readonly number[] } = {}): Promise<string> {
  const r = await bc.runner.run(argv, { timeoutMs: 120_000, signal: bc.signal, okExitCodes: options.okExitCodes });
  return r.stdout;
}

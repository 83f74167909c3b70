import type { CommandRunner, Logger, StorageContext } from '@corral/core';
import { DirLayout } from './DirLayout.js';
import { dirOptions, type DirOptions } from './dirOptions.js';
import type { ImageHeaderCache } from './ImageHeaderCache.js';

/** What every dir operation needs, derived from the facade's {@link StorageContext}. */
export interface DirContext {
  /** Storage id (for volids and errors). */
  readonly sid: string;
  readonly layout: DirLayout;
  readonly options: DirOptions;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Private directory for run state (NBD sockets). */
  readonly runDir: string;
  readonly signal?: AbortSignal;
  /** The driver's cache of image headers (listing and volume info use it), if any. */
  readonly headerCache?: ImageHeaderCache;
}

/** Builds a {@link DirContext}; `headerCache` is the driver's (see {@link ImageHeaderCache}). */
export function dirContext(ctx: StorageContext, headerCache?: ImageHeaderCache): DirContext {
  const options = dirOptions(ctx.storage);
  return {
    sid: ctx.storage.id,
    layout: new DirLayout(options.path, options.contentDirs),
    options,
    runner: ctx.runner,
    log: ctx.log,
    runDir: ctx.runDir,
    signal: ctx.signal,
    headerCache,
  };
}

/** `storeid:volname`. */
export function volidOf(dc: DirContext, volname: string): string {
  return `${dc.sid}:${volname}`;
}

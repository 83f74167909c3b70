import type { CommandRunner, Logger, StorageContext } from "@corral/core";
import { NfsLayout } from "./NfsLayout.js";
import type { NfsMounter } from "./NfsMounter.js";
import type { NfsMountSpec } from "./nfsMount.js";
import { nfsOptions, type NfsOptions } from "./nfsOptions.js";

/** What every nfs operation needs, derived from the facade's {@link StorageContext}. */
export interface NfsContext {
  /** Storage id (for volids and errors). */
  readonly sid: string;
  readonly options: NfsOptions;
  readonly layout: NfsLayout;
  readonly mount: NfsMountSpec;
  readonly mounter: NfsMounter;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Private directory for run state (temporary transfer files). */
  readonly runDir: string;
  readonly signal?: AbortSignal;
}

/** Builds an {@link NfsContext} (throws `InvalidConfigError` for a bad `content-dirs`). */
export function nfsContext(
  ctx: StorageContext,
  mounter: NfsMounter
): NfsContext {
  const options = nfsOptions(ctx.storage);
  return {
    sid: ctx.storage.id,
    options,
    layout: new NfsLayout(options.path, options.contentDirs),
    mount: {
      server: options.server,
      export: options.export,
      path: options.path,
      mountOptions: options.mountOptions,
    },
    mounter,
    runner: ctx.runner,
    log: ctx.log,
    runDir: ctx.runDir,
    signal: ctx.signal,
  };
}

/** `storeid:volname`. */
export function volidOf(nc: NfsContext, volname: string): string {
  return `${nc.sid}:${volname}`;
}

import type { CommandRunner } from '../../exec/CommandRunner.js';
import type { Logger } from '../../util/Logger.js';
import type { StorageContext, VolumeAccess } from '../../contracts/storage.js';
import { ShareLayout } from './ShareLayout.js';
import type { ShareMount } from './ShareMount.js';
import type { ShareMounter } from './ShareMounter.js';
import { shareOptions, type ShareOptions } from './shareOptions.js';
import type { ShareType } from './ShareType.js';
import type { ShareFile } from './shareAccess.js';

/** What every share-storage operation needs, derived from the facade's {@link StorageContext}. */
export interface ShareContext {
  /** Storage id (for volids and errors). */
  readonly sid: string;
  readonly options: ShareOptions;
  readonly layout: ShareLayout;
  readonly share: ShareMount;
  /** How QEMU reaches a file over the network, if the type can (see {@link ShareType.qemuAccess}). */
  readonly qemuAccess?: (file: ShareFile) => Promise<Extract<VolumeAccess, { kind: 'qemu' }> | undefined>;
  readonly mounter: ShareMounter;
  /** The type's connection probe, if it has one (see {@link ShareType.checkConnection}). */
  readonly checkConnection?: () => Promise<boolean>;
  readonly runner: CommandRunner;
  readonly log: Logger;
  /** Private directory for run state (temporary transfer files, credentials). */
  readonly runDir: string;
  readonly signal?: AbortSignal;
}

/** Builds a {@link ShareContext}. */
export function shareContext(ctx: StorageContext, type: ShareType, mounter: ShareMounter): ShareContext {
  const options = shareOptions(ctx.storage);
  return {
    sid: ctx.storage.id,
    options,
    layout: new ShareLayout(options.path, options.contentDirs),
    share: type.shareMount(ctx),
    ...(type.qemuAccess ? { qemuAccess: (file: ShareFile) => type.qemuAccess!(ctx, file) } : {}),
    mounter,
    ...(type.checkConnection ? { checkConnection: () => type.checkConnection!(ctx) } : {}),
    runner: ctx.runner,
    log: ctx.log,
    runDir: ctx.runDir,
    signal: ctx.signal,
  };
}

/** `storeid:volname`. */
export function volidOf(nc: ShareContext, volname: string): string {
  return `${nc.sid}:${volname}`;
}

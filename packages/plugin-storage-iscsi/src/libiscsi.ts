import { CommandFailedError, CommandTimeoutError, NotFoundError, UnavailableError, type StorageContext } from '@corral/core';
import { iscsiUrl, type IscsiOptions } from './iscsiOptions.js';
import { parseIscsiLs, parseReadCapacity16, type IscsiLsLun } from './parseLibiscsi.js';

/** How long one libiscsi tool may run, ms (a portal that drops packets would hang it). */
export const LIBISCSI_TIMEOUT_MS = 30_000;

/** A disk LUN of the storage's target with its exact size. */
export interface TargetLun {
  readonly lun: number;
  readonly sizeBytes: number;
}

/**
 * Maps a failed libiscsi tool to a coded error: a missing LUN (`LOGICAL_UNIT_NOT_SUPPORTED`) is
 * `NotFoundError` (kind `volume`, id `volid`); an unknown target, a refused or unreachable
 * portal, a missing program are `UnavailableError` naming the portal and target; anything
 * else is rethrown.
 */
export function libiscsiFailure(err: unknown, opts: IscsiOptions, volid?: string): never {
  if (err instanceof CommandFailedError) {
    const text = err.stderr;
    if (volid && /LOGICAL_UNIT_NOT_SUPPORTED/.test(text)) throw new NotFoundError('volume', volid, `volume '${volid}' does not exist: target ${opts.target} has no such LUN`, { cause: err });
    if (/Target not found/i.test(text)) throw new UnavailableError('iscsi target', `portal ${opts.portal} has no target ${opts.target}: ${text.trim()}`, { cause: err });
    if (/connect|socket error|Connection refused|No route|timed out/i.test(text)) {
      throw new UnavailableError('iscsi portal', `cannot reach iSCSI portal ${opts.portal}: ${text.trim()}`, { cause: err });
    }
  }
  if (err instanceof NotFoundError && err.kind === 'program') {
    throw new UnavailableError('libiscsi-bin', `${err.id} is not installed (Debian package libiscsi-bin)`, { cause: err });
  }
  if (err instanceof CommandTimeoutError) {
    throw new UnavailableError('iscsi portal', `iSCSI portal ${opts.portal} did not answer within ${LIBISCSI_TIMEOUT_MS} ms`, { cause: err });
  }
  throw err;
}

/**
 * The LUNs of the storage's target as `iscsi-ls -s` lists them (all peripheral types).
 * iscsi-ls lists every target of the portal; only the configured one is kept.
 *
 * @throws UnavailableError when the portal cannot be reached or does not offer the target.
 */
export async function listTargetLuns(ctx: StorageContext, opts: IscsiOptions): Promise<IscsiLsLun[]> {
  let stdout: string;
  try {
    ({ stdout } = await ctx.runner.run(['iscsi-ls', '-s', iscsiUrl(opts)], { timeoutMs: LIBISCSI_TIMEOUT_MS, signal: ctx.signal }));
  } catch (err) {
    libiscsiFailure(err, opts);
  }
  const target = parseIscsiLs(stdout).find((t) => t.target === opts.target);
  if (!target) throw new UnavailableError('iscsi target', `portal ${opts.portal} does not offer target ${opts.target}`);
  return [...target.luns];
}

/**
 * The exact size of one LUN in bytes (`iscsi-readcapacity16`).
 *
 * @throws NotFoundError (kind `volume`, id `volid`) when the target has no such LUN;
 *   UnavailableError when the portal or target cannot be reached.
 */
export async function lunSize(ctx: StorageContext, opts: IscsiOptions, lun: number, volid: string): Promise<number> {
  try {
    const { stdout } = await ctx.runner.run(['iscsi-readcapacity16', iscsiUrl(opts, lun)], { timeoutMs: LIBISCSI_TIMEOUT_MS, signal: ctx.signal });
    return parseReadCapacity16(stdout);
  } catch (err) {
    libiscsiFailure(err, opts, volid);
  }
}

/**
 * The disk LUNs (`DIRECT_ACCESS`) of the storage's target with their exact sizes, by LUN.
 * Controller LUNs (LUN 0 of tgt, `STORAGE_ARRAY_CONTROLLER`) are not volumes.
 */
export async function listDiskLuns(ctx: StorageContext, opts: IscsiOptions): Promise<TargetLun[]> {
  const luns = (await listTargetLuns(ctx, opts)).filter((l) => l.type === 'DIRECT_ACCESS');
  const out: TargetLun[] = [];
  for (const l of luns) out.push({ lun: l.lun, sizeBytes: await lunSize(ctx, opts, l.lun, `${ctx.storage.id}:lun${l.lun}`) });
  return out.sort((a, b) => a.lun - b.lun);
}

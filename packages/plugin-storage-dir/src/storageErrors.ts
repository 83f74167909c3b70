import { statfs } from 'node:fs/promises';
import { CommandFailedError, NotFoundError, StorageFullError } from '@corral/core';

/** Out-of-space messages of the tools (GNU tar reports a short write as "Wrote only N of M bytes"). */
const NO_SPACE_TEXT = /No space left on device|Disk quota exceeded|Wrote only \d+ of \d+ bytes/i;

/** True for "out of space" from fs calls (ENOSPC, EDQUOT) or from a tool's stderr. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  if (err instanceof CommandFailedError) return NO_SPACE_TEXT.test(err.stderr);
  return err instanceof Error && NO_SPACE_TEXT.test(err.message);
}

/** True for a missing file (ENOENT). */
export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Free bytes of the filesystem holding `path` (0 when it cannot be read). */
export async function availableBytes(path: string): Promise<number> {
  try {
    const s = await statfs(path);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return 0;
  }
}

/**
 * Maps low-level errors of an operation on storage `storage` (directory `path`): out of
 * space becomes `StorageFullError` (with `requestedBytes`), a missing file
 * `NotFoundError('volume', volid)` when `volid` is given; anything else is returned as is.
 */
export async function mapStorageError(
  err: unknown,
  ctx: { storage: string; path: string; requestedBytes?: number; volid?: string },
): Promise<unknown> {
  if (isNoSpace(err)) {
    return new StorageFullError(ctx.storage, ctx.requestedBytes ?? 0, await availableBytes(ctx.path), { cause: err });
  }
  if (ctx.volid && isMissing(err)) return new NotFoundError('volume', ctx.volid, undefined, { cause: err });
  return err;
}

import { statfs } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { CommandFailedError, StorageFullError } from '@corral/core';

/** Out-of-space messages of btrfs-progs and GNU tar. */
const NO_SPACE_TEXT = /No space left on device|Disk quota exceeded|Wrote only \d+ of \d+ bytes/i;

/**
 * True for "out of space": ENOSPC, EDQUOT (a qgroup limit; Node has no name for it and reports
 * `errno: -122`), or a tool's stderr saying so.
 */
export function isNoSpace(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  const edquot = osConstants.errno.EDQUOT;
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT' || (edquot !== undefined && e?.errno === -edquot)) return true;
  if (err instanceof CommandFailedError) return NO_SPACE_TEXT.test(err.stderr);
  return err instanceof Error && NO_SPACE_TEXT.test(err.message);
}

/** True for a missing file (ENOENT). */
export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/**
 * Out of space becomes `StorageFullError` for storage `sid` (free bytes read from `path`);
 * anything else is returned as it is.
 */
export async function mapNoSpace(err: unknown, sid: string, path: string, requestedBytes = 0): Promise<unknown> {
  if (!isNoSpace(err)) return err;
  const free = await statfs(path).then((s) => Number(s.bavail) * Number(s.bsize), () => 0);
  return new StorageFullError(sid, requestedBytes, free, { cause: err });
}

import { statfs } from 'node:fs/promises';
import { CommandFailedError, NotFoundError, StorageFullError } from '../../errors.js';

const NO_SPACE_TEXT = /No space left on device|Disk quota exceeded/i;

/** True for a missing file (ENOENT), from fs calls or a tool's stderr. */
export function isMissing(err: unknown): boolean {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return true;
  return err instanceof CommandFailedError && /No such file or directory/.test(err.stderr);
}

/**
 * Maps low-level errors of an operation on the mount `path`: out of space (ENOSPC, EDQUOT, or a
 * tool saying so) becomes `StorageFullError`, a missing file `NotFoundError('volume', volid)`
 * when `volid` is given; anything else is returned as is.
 */
export async function mapShareError(
  err: unknown,
  ctx: {
    storage: string;
    path: string;
    requestedBytes?: number;
    volid?: string;
  }
): Promise<unknown> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const noSpace = code === 'ENOSPC' || code === 'EDQUOT' || (err instanceof CommandFailedError && NO_SPACE_TEXT.test(err.stderr));
  if (noSpace) {
    const available = await statfs(ctx.path).then(
      (s) => Number(s.bavail) * Number(s.bsize),
      () => 0
    );
    return new StorageFullError(ctx.storage, ctx.requestedBytes ?? 0, available, { cause: err });
  }
  if (ctx.volid && isMissing(err)) return new NotFoundError('volume', ctx.volid, undefined, { cause: err });
  return err;
}

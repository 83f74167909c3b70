import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Stores `stream` as `<dir>/<name>` (an upload to a file storage) so that no reader ever sees
 * half a file and an existing file is never replaced: the bytes go to a hidden temporary file
 * in `dir` (`.<name>.tmp-<random>`, mode `0644`), which is then hard-linked to `name`. Creates
 * `dir` when missing. The temporary file is removed whatever happens.
 *
 * @throws The filesystem's error as it is (`ENOSPC`, `EDQUOT`...; map it to a coded error),
 *   with code `EEXIST` when `name` exists, or the stream's or `signal`'s error.
 */
export async function writeNewFile(dir: string, name: string, stream: Readable, options: { signal?: AbortSignal } = {}): Promise<void> {
  const tmp = join(dir, `.${name}.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    await (options.signal ? pipeline(stream, out, { signal: options.signal }) : pipeline(stream, out));
    await link(tmp, join(dir, name));
  } finally {
    await rm(tmp, { force: true });
  }
}

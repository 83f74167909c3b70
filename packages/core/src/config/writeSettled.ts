/**
 * The commit point of a config write whose outcome is unclear.
 *
 * An atomic write renames the new file over the old one and then makes the rename durable
 * (fsync of the directory, watch bookkeeping...). When a step after the rename throws, the new
 * content is already what readers see: the write is committed, whatever the error says. An
 * operation that undid its work on such an error (freeing the volumes the new config names)
 * would leave a committed config pointing at freed volumes. {@link writeSettled} decides by
 * what is in the store instead.
 *
 * @packageDocumentation
 */
import type { ConfigStore, ConfigWriteOptions } from './ConfigStore.js';
import { DigestMismatchError, WriteOutcomeUnknownError } from '../errors.js';

/**
 * Writes `content` to `path` like {@link ConfigStore.write}, and settles an error by reading
 * the file back:
 * - the store holds `content`: the write landed; `onLanded(error)` is told (for a task
 *   warning) and the digest is returned as on success;
 * - the store holds something else (or nothing): the write did not land; the error is rethrown;
 * - the file cannot be read back: `WriteOutcomeUnknownError` (cause: the write's error).
 *
 * A `DigestMismatchError` is rethrown at once: a refused compare-and-set wrote nothing.
 *
 * @returns the digest of the stored content.
 */
export async function writeSettled(
  store: ConfigStore,
  path: string,
  content: string,
  options: ConfigWriteOptions = {},
  onLanded?: (error: Error) => void,
): Promise<string> {
  try {
    return await store.write(path, content, options);
  } catch (error) {
    if (error instanceof DigestMismatchError) throw error;
    let stored;
    try {
      stored = await store.read(path);
    } catch (readError) {
      throw new WriteOutcomeUnknownError(
        path,
        `writing config '${path}' failed (${(error as Error).message}) and reading it back failed too (${(readError as Error).message}): whether the write landed is unknown`,
        { cause: error },
      );
    }
    if (stored?.content !== content) throw error;
    onLanded?.(error as Error);
    return stored.digest;
  }
}

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
import type { ConfigStore, ConfigTxOp, ConfigTxResult, ConfigWriteOptions } from './ConfigStore.js';
import { DigestMismatchError, InvalidArgumentError, WriteOutcomeUnknownError } from '../errors.js';

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

/**
 * Runs `ops` as one {@link ConfigStore.transaction} and settles an error the way
 * {@link writeSettled} settles a write, by reading every path back:
 * - every write's content is stored and every deleted path is gone: the transaction landed;
 *   `onLanded(error)` is told and the digests are returned as on success;
 * - none of it is there (the old state): it did not land; the error is rethrown;
 * - a mix, or a path that cannot be read back: `WriteOutcomeUnknownError` (cause: the
 *   transaction's error), so that the caller undoes nothing the new state could name.
 *
 * A `DigestMismatchError` is rethrown at once: a refused transaction changed nothing.
 *
 * @throws InvalidArgumentError when the store has no transactions.
 */
export async function transactionSettled(store: ConfigStore, ops: readonly ConfigTxOp[], onLanded?: (error: Error) => void): Promise<ConfigTxResult> {
  if (!store.transaction) throw new InvalidArgumentError('store', 'this config store has no transactions');
  try {
    return await store.transaction(ops);
  } catch (error) {
    if (error instanceof DigestMismatchError) throw error;
    const digests = new Map<string, string>();
    let landed = 0;
    let changing = 0;
    for (const op of ops) {
      if (op.type === 'check') continue;
      changing++;
      let stored;
      try {
        stored = await store.read(op.path);
      } catch (readError) {
        throw new WriteOutcomeUnknownError(
          op.path,
          `a config transaction failed (${(error as Error).message}) and reading '${op.path}' back failed too (${(readError as Error).message}): whether it landed is unknown`,
          { cause: error },
        );
      }
      if (op.type === 'write' && stored?.content === op.content) {
        landed++;
        digests.set(op.path, stored.digest);
      } else if (op.type === 'delete' && stored === null) {
        landed++;
      }
    }
    if (landed === 0) throw error;
    if (landed < changing) {
      throw new WriteOutcomeUnknownError(
        ops[0]!.path,
        `a config transaction failed (${(error as Error).message}) and left ${landed} of its ${changing} changes in place: whether it landed is unknown`,
        { cause: error },
      );
    }
    onLanded?.(error as Error);
    return { digests };
  }
}

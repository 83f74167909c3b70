import { DigestMismatchError, InvalidArgumentError, NotFoundError } from '../errors.js';
import type { ConfigStore, ConfigTxOp } from './ConfigStore.js';

/**
 * {@link ConfigStore.move} for any store with a {@link ConfigStore.transaction}: reads `from`,
 * then in one transaction deletes it (only if unchanged) and creates `to` (only if absent).
 * Returns the digest at `to`.
 *
 * @throws NotFoundError when `from` does not exist.
 * @throws DigestMismatchError when `to` exists, or `from` changed or does not match `expectedDigest`.
 * @throws InvalidArgumentError when `from` and `to` are the same path, or the store has no transactions.
 */
export async function moveConfigFile(
  store: Pick<ConfigStore, 'read' | 'transaction'>,
  from: string,
  to: string,
  options: { expectedDigest?: string } = {},
): Promise<string> {
  if (from === to) throw new InvalidArgumentError('to', `cannot move '${from}' onto itself`);
  if (!store.transaction) throw new InvalidArgumentError('store', 'this config store has no transactions: it cannot move files atomically');
  const file = await store.read(from);
  if (!file) throw new NotFoundError('config file', from);
  if (options.expectedDigest !== undefined && options.expectedDigest !== file.digest) {
    throw new DigestMismatchError(from, options.expectedDigest, file.digest);
  }
  const ops: ConfigTxOp[] = [
    { type: 'delete', path: from, expectedDigest: file.digest },
    { type: 'write', path: to, content: file.content, expectedDigest: null },
  ];
  const result = await store.transaction(ops);
  return result.digests.get(to)!;
}

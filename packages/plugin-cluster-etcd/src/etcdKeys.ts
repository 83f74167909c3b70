import { InvalidArgumentError } from '@corral/core';

/** Longest key (bytes) the store accepts; etcd's own request limit is far larger. */
export const MAX_ETCD_KEY_BYTES = 4096;

/**
 * Checks a key or prefix given to the cluster store: a non-empty string of at most
 * {@link MAX_ETCD_KEY_BYTES} UTF-8 bytes without NUL. Throws `InvalidArgumentError` naming
 * `argument` otherwise.
 */
export function checkEtcdKey(argument: string, key: unknown, allowEmpty = false): string {
  if (typeof key !== 'string') throw new InvalidArgumentError(argument, `${argument} must be a string, got ${typeof key}`);
  if (!allowEmpty && key.length === 0) throw new InvalidArgumentError(argument, `${argument} must not be empty`);
  if (key.includes('\0')) throw new InvalidArgumentError(argument, `${argument} '${key.replace(/\0/g, '\\0')}' contains a NUL byte`);
  if (Buffer.byteLength(key) > MAX_ETCD_KEY_BYTES) throw new InvalidArgumentError(argument, `${argument} is longer than ${MAX_ETCD_KEY_BYTES} bytes`);
  return key;
}

/** Checks an etcd revision given as a decimal string (`"42"`); throws `InvalidArgumentError` otherwise. */
export function checkRevision(argument: string, revision: unknown): string {
  if (typeof revision !== 'string' || !/^[1-9][0-9]{0,18}$/.test(revision)) {
    throw new InvalidArgumentError(argument, `${argument} must be an etcd revision (a positive decimal string), got ${JSON.stringify(revision)}`);
  }
  return revision;
}

import { posix } from 'node:path';
import { InvalidConfigError } from '../errors.js';

/** Longest host path accepted, bytes (Linux PATH_MAX). */
const MAX_HOST_PATH = 4096;

/**
 * Checks a host path given as a config value (a storage `path`, a mount point source): it must
 * be absolute and written in normal form, so that what is checked is what is used: no `//`,
 * no `.` or `..` segment, no trailing `/`, no control characters, and not `/` itself.
 *
 * @returns the path.
 * @throws InvalidConfigError naming `key` otherwise.
 */
export function checkHostPath(key: string, value: string): string {
  const fail = (why: string): never => {
    throw new InvalidConfigError(key, value, `invalid value for '${key}': '${String(value)}' ${why}`);
  };
  if (typeof value !== 'string' || !value.startsWith('/')) fail('is not an absolute path');
  if (value.length > MAX_HOST_PATH) fail(`is longer than ${MAX_HOST_PATH} characters`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029) fail('contains a control character');
  }
  if (value === '/') fail('is the root directory');
  if (posix.normalize(value) !== value || value.endsWith('/')) fail("is not in normal form (no '//', '.' or '..' segments, no trailing '/')");
  return value;
}

import { InvalidArgumentError } from '../errors.js';

/** Longest accepted path segment, bytes (leaves room for temp-file suffixes under NAME_MAX 255). */
export const MAX_CONFIG_SEGMENT_BYTES = 200;

/**
 * Checks a config-store path and returns it unchanged.
 *
 * Valid: relative, `/`-separated, no empty segment (so no leading, trailing or double `/`),
 * no `.` or `..`, no segment starting with `.` (reserved for the store's temp and lock files),
 * no NUL, segments of at most {@link MAX_CONFIG_SEGMENT_BYTES} bytes. With `allowRoot`, the
 * empty string (the store's root) is accepted too (directories and watch prefixes).
 *
 * @param path the config-store path to check.
 * @param options.allowRoot accept the empty string (the store's root); default false.
 * @param options.argument the parameter name reported in the error (`path`, `dir`, `prefix`); default `path`.
 * @returns `path`, unchanged.
 * @throws InvalidArgumentError naming the path and what is wrong with it.
 */
export function validateConfigPath(path: string, options: { allowRoot?: boolean; argument?: string } = {}): string {
  const argument = options.argument ?? 'path';
  const fail = (why: string): never => {
    throw new InvalidArgumentError(argument, `invalid config ${argument} '${String(path).replace(/\0/g, '\\0')}': ${why}`);
  };
  if (typeof path !== 'string') fail('not a string');
  if (path === '') {
    if (options.allowRoot) return path;
    fail('empty');
  }
  if (path.includes('\0')) fail('contains a NUL byte');
  if (path.startsWith('/')) fail('must be relative (no leading /)');
  for (const segment of path.split('/')) {
    if (segment === '') fail('empty path segment (double or trailing /)');
    if (segment === '.' || segment === '..') fail(`'${segment}' segments are not allowed`);
    if (segment.startsWith('.')) fail(`segment '${segment}' starts with '.', which is reserved for the store's own files`);
    if (Buffer.byteLength(segment) > MAX_CONFIG_SEGMENT_BYTES) fail(`segment longer than ${MAX_CONFIG_SEGMENT_BYTES} bytes`);
  }
  return path;
}

/**
 * Unpacks a container template (a `vztmpl` tarball: `.tar.gz`, `.tar.xz`, `.tar.zst`...) into
 * a rootfs directory with GNU tar, keeping numeric owners, modes and the xattrs that matter,
 * as pve-container's `restore_archive` does. `/dev` is left out (LXC populates it).
 *
 * @packageDocumentation
 */
import type { CommandRunner } from '@corral/core';

/** Template extraction: at most this long, ms (a large template on slow disks). */
export const EXTRACT_TIMEOUT_MS = 30 * 60_000;

/** The tar command line that unpacks `archive` into `target`. */
export function extractTemplateArgv(archive: string, target: string): string[] {
  return [
    'tar',
    '-x',
    '-p',
    '-f',
    archive,
    '-C',
    target,
    '--numeric-owner',
    '--sparse',
    '--xattrs',
    '--xattrs-include=user.*',
    '--xattrs-include=security.capability',
    '--warning=no-unknown-keyword',
    '--warning=no-xattr-write',
    '--exclude=./dev/*',
  ];
}

/**
 * Unpacks `archive` into `target`. With `ignoreErrors`, tar's exit code 2 (some members could
 * not be written) is accepted, as `pct create --ignore-unpack-errors`.
 *
 * @throws CommandFailedError with tar's stderr.
 */
export async function extractTemplate(
  runner: CommandRunner,
  options: { archive: string; target: string; ignoreErrors?: boolean; signal?: AbortSignal },
): Promise<void> {
  await runner.run(extractTemplateArgv(options.archive, options.target), {
    okExitCodes: options.ignoreErrors ? [0, 2] : [0],
    timeoutMs: EXTRACT_TIMEOUT_MS,
    signal: options.signal,
    cwd: '/',
  });
}

import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Makes a private temporary directory (mode 0700) and, given an ava context, removes it when
 * the test ends. Without a context the caller removes it.
 */
export async function makeTempDir(t?: Pick<ExecutionContext, 'teardown'>, prefix = 'corral-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t?.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A short unique name for containers, bridges, netns and pools (`<prefix><8 hex>`; fits IFNAMSIZ with a short prefix). */
export function uniqueName(prefix = 'ct'): string {
  return `${prefix}${Math.floor(Math.random() * 0xffffffff).toString(16).padStart(8, '0')}`;
}

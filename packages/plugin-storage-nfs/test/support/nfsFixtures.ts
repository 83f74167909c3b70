/**
 * Loads output recorded from the real tools from `test/fixtures` (see its README and
 * `recordNfsFixtures.ts`). Lines starting with `# ` are provenance headers and are stripped.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package>/test/fixtures` (this file runs from `dist/test/support`). */
export const NFS_FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** A recorded command: its exit code, stdout and stderr. */
export interface NfsFixture {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fixture `name`: JSON `{ argv, exitCode, stdout, stderr }` after the `# ` header lines. */
export function nfsFixture(name: string): NfsFixture {
  const text = readFileSync(join(NFS_FIXTURE_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');
  return JSON.parse(text) as NfsFixture;
}

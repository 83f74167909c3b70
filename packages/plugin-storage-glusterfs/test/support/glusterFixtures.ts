/**
 * Loads output recorded from the real gluster tools from `test/fixtures` (see its README and
 * `recordGlusterFixtures.ts`). Lines starting with `# ` are provenance headers and are stripped.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package>/test/fixtures` (this file runs from `dist/test/support`). */
export const GLUSTER_FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** A recorded command: its argv, exit code, stdout and stderr. */
export interface GlusterFixture {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fixture `name`: JSON `{ argv, exitCode, stdout, stderr }` after the `# ` header lines. */
export function glusterFixture(name: string): GlusterFixture {
  const text = readFileSync(join(GLUSTER_FIXTURE_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');
  return JSON.parse(text) as GlusterFixture;
}

/**
 * Loads recorded Ceph output from `test/fixtures` (see its README: tool, version, command of
 * each file). Lines starting with `# ` are provenance headers of derived fixtures and are
 * stripped.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package>/test/fixtures` (this file runs from `dist/test/support`). */
export const CEPH_FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** The text of fixture `name`, without `# ` header lines. */
export function cephFixture(name: string): string {
  return readFileSync(join(CEPH_FIXTURE_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');
}

/**
 * Loads recorded lvm2 output from `test/fixtures` (see its README: tool, version, command of
 * each file). Lines starting with `# ` are provenance headers and are stripped.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package>/test/fixtures` (this file runs from `dist/test/support`). */
export const LVM_FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** The text of fixture `name`, without `# ` header lines. */
export function lvmFixture(name: string): string {
  return readFileSync(join(LVM_FIXTURE_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');
}

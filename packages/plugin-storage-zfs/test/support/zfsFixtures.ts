/**
 * Loads recorded zfs output from `test/fixtures` (see its README: tool, version, command of each
 * file). Lines starting with `# ` are provenance headers of derived fixtures and are stripped.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<package>/test/fixtures` (this file runs from `dist/test/support`). */
export const ZFS_FIXTURE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** The text of fixture `name` (relative to the fixture dir), without `# ` header lines. */
export function zfsFixture(name: string): string {
  return readFileSync(join(ZFS_FIXTURE_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('# '))
    .join('\n');
}

/** The lines of a `zfs get -Hp -o name,property,value` fixture whose name is `dataset` (and property in `props`, if given). */
export function zfsFixtureRows(name: string, dataset: string, props?: readonly string[]): string {
  return (
    zfsFixture(name)
      .split('\n')
      .filter((l) => {
        const [n, p] = l.split('\t');
        return n === dataset && (!props || props.includes(p!));
      })
      .join('\n') + '\n'
  );
}

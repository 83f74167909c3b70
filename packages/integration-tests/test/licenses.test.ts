/**
 * Every package says `AGPL-3.0-or-later`, so the repository and every package (examples
 * included) carry the license text as LICENSE, and each published package lists it in `files`.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from packages/integration-tests/dist/test). */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/**
 * SHA-256 of the GNU AGPL v3 text (19 November 2007) as the FSF publishes it (`agpl-3.0.txt`,
 * 661 lines, 34 523 bytes). Checked against Debian's copy of the same text (python3-inflect's
 * copyright file) word for word, and line for line against the GPL-3 text Debian ships in
 * /usr/share/common-licenses where the two licenses share wording.
 */
const AGPL_3_SHA256 = '0d96a4ff68ad6d4b6f1f30f713b18d5184912ba8dd389f86aa7710db079abcb0';

interface PackageJson {
  name: string;
  license?: string;
  private?: boolean;
  files?: string[];
}

function workspaces(): Array<{ dir: string; pkg: PackageJson }> {
  const out: Array<{ dir: string; pkg: PackageJson }> = [];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, 'package.json');
      if (existsSync(file)) out.push({ dir: join(root, group, name), pkg: JSON.parse(readFileSync(file, 'utf8')) as PackageJson });
    }
  }
  return out;
}

const rootLicense = readFileSync(join(root, 'LICENSE'));

test('the repository\'s LICENSE is the unmodified GNU AGPL v3', (t) => {
  t.is(createHash('sha256').update(rootLicense).digest('hex'), AGPL_3_SHA256);
  t.is(rootLicense.toString('utf8').split('\n')[0]!.trim(), 'GNU AFFERO GENERAL PUBLIC LICENSE');
  t.is((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson).license, 'AGPL-3.0-or-later');
});

const packages = workspaces();

test('the workspace packages are found', (t) => {
  t.true(packages.length >= 10, packages.map((p) => p.pkg.name).join(', '));
});

for (const { dir, pkg } of packages) {
  test(`${pkg.name}: AGPL-3.0-or-later, with the license text as LICENSE in its published files`, (t) => {
    t.is(pkg.license, 'AGPL-3.0-or-later');
    t.true(existsSync(join(dir, 'LICENSE')), 'no LICENSE file');
    t.true(readFileSync(join(dir, 'LICENSE')).equals(rootLicense), 'LICENSE differs from the repository\'s');
    // Without `files`, npm publishes everything, LICENSE included; with it, LICENSE must be listed.
    if (pkg.files) t.true(pkg.files.includes('LICENSE'), `files: ${JSON.stringify(pkg.files)}`);
  });
}

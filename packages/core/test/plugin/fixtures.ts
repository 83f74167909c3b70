import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CorralPlugin } from '../../src/index.js';

/** Source directory of the fixture plugin packages (tests run from dist/test). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));

/** Imports a fixture package's module and returns its exports. */
export async function importFixture(name: string): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(join(FIXTURES_DIR, name, 'index.js')).href)) as Record<string, unknown>;
}

/** One named plugin export of a fixture package. */
export async function fixturePlugin(name: string, exportName: string): Promise<CorralPlugin> {
  return (await importFixture(name))[exportName] as CorralPlugin;
}

/** Makes `<root>/node_modules/<pkg>` symlinks to fixture packages, as npm would install them. */
export async function installFixtures(root: string, names: readonly string[]): Promise<void> {
  await mkdir(join(root, 'node_modules'), { recursive: true });
  for (const name of names) await symlink(join(FIXTURES_DIR, name), join(root, 'node_modules', name), 'dir');
}

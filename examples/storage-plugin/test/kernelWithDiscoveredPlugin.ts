import type { ExecutionContext } from 'ava';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestKernel, makeTempDir, type TestKernel } from '@corral/core/testing';

/** This package's directory (tests run from `dist/test/`). */
const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A test kernel that finds the plugin as an installation does: a private project directory
 * whose `node_modules/corral-example-storage-plugin` links to this package, and
 * `discover: [project]`, so the kernel reads the package.json `"corral"` block and imports
 * the module it names. Nothing is passed to the kernel explicitly. Removed when the test ends.
 */
export async function kernelWithDiscoveredPlugin(t: ExecutionContext): Promise<TestKernel> {
  const project = await makeTempDir(t, 'corral-flat-project-');
  await mkdir(join(project, 'node_modules'));
  await symlink(PACKAGE_DIR, join(project, 'node_modules', 'corral-example-storage-plugin'), 'dir');
  return createTestKernel(t, { discover: [project] });
}

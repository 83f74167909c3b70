import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, InvalidConfigError, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir } from '@corral/core/testing';
import { storageFlatPlugin } from '../src/index.js';

/** Definitions `kernel.storage.add` must refuse, and the option the error must name. */
const BAD_DEFINITIONS: ReadonlyArray<{ description: string; options: (dir: string) => Record<string, string>; key: string; message: RegExp }> = [
  { description: 'a relative path', options: () => ({ path: 'relative/dir' }), key: 'path', message: /option 'path' has invalid value 'relative\/dir'/ },
  { description: 'a missing path', options: () => ({}), key: 'path', message: /option 'path' is required/ },
  { description: 'an unknown option', options: (dir) => ({ path: dir, pool: 'tank' }), key: 'pool', message: /option 'pool' is not known for type 'flatdir'/ },
  { description: 'content the type cannot hold', options: (dir) => ({ path: dir, content: 'images,iso' }), key: 'content', message: /cannot hold content 'iso'/ },
  { description: 'a path that is a file', options: (dir) => ({ path: join(dir, 'a-file') }), key: 'path', message: /exists and is not a directory/ },
];

for (const row of BAD_DEFINITIONS) {
  test(`a flatdir definition with ${row.description} is refused naming '${row.key}'`, async (t) => {
    // Embedding: the plugin passed explicitly instead of discovered.
    const kernel = await createTestKernel(t, { plugins: [storageFlatPlugin] });
    const dir = await makeTempDir(t, 'corral-flat-');
    await writeFile(join(dir, 'a-file'), 'not a directory\n');
    const err = await t.throwsAsync(kernel.storage.add('flat', 'flatdir', row.options(dir), { caller: ROOT_CALLER }), {
      instanceOf: InvalidConfigError,
      code: ErrorCodes.invalidConfig,
    });
    t.is(err?.key, row.key);
    t.regex(err?.message ?? '', row.message);
    t.deepEqual(await kernel.storage.list(), [], 'a refused definition leaves no trace');
  });
}

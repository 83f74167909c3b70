/**
 * One bad section of storage.cfg does not make every other storage unusable (Proxmox's
 * SectionConfig warns and skips it): the others work, the bad one fails with its coded
 * error when used, and writing storage.cfg keeps it as it was until it is removed.
 */
import test from 'ava';
import { ErrorCodes, ParseError, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir } from '@corral/core/testing';
import { storageDirPlugin } from '../src/index.js';

const BROKEN = [
  'dir: broken\n\tpath /srv/a\u2028b\n\tcontent images',
  'dir: 1bad\n\tpath /srv/x',
  '\tstray option-line',
  'dir: dup\n\tpath /srv/d\n\tpath /srv/e',
];

test('a broken section is skipped, reported when used, kept on writes, and can be removed', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t, 'corral-dir-');
  await kernel.storage.add('store', 'dir', { path, content: 'images' }, { caller: ROOT_CALLER });
  const cfg = (await kernel.config.read('storage.cfg'))!.content;
  await kernel.config.write('storage.cfg', `${cfg}${BROKEN.join('\n\n')}\n`);

  t.deepEqual((await kernel.storage.list()).map((s) => s.id), ['store'], 'the good storage is listed');
  t.true(kernel.logger.lines.some((l) => l.level === 'warn' && /broken section/.test(l.message)), 'the broken ones are warned about');
  await kernel.storage.activate('store');
  t.true((await kernel.storage.status('store')).totalBytes > 0, 'and works');

  const err = await t.throwsAsync(kernel.storage.get('broken'), { instanceOf: ParseError });
  t.is(err!.code, ErrorCodes.parse);
  t.regex(err!.message, /storage\.cfg:\d+: section 'broken': value of 'path' contains U\+2028/);
  await t.throwsAsync(kernel.storage.activate('1bad'), { code: ErrorCodes.parse, message: /'1bad' is not a valid storage id/ });
  await t.throwsAsync(kernel.storage.get('dup'), { code: ErrorCodes.parse, message: /duplicate option 'path'/ });
  await t.throwsAsync(kernel.storage.add('broken', 'dir', { path }, { caller: ROOT_CALLER }), { code: ErrorCodes.alreadyExists });

  // Writing storage.cfg (adding a storage) keeps every broken part as it was.
  const other = await makeTempDir(t, 'corral-dir-');
  await kernel.storage.add('other', 'dir', { path: other, content: 'iso' }, { caller: ROOT_CALLER });
  const after = (await kernel.config.read('storage.cfg'))!.content;
  for (const part of BROKEN) t.true(after.includes(`${part}\n\n`), `kept: ${JSON.stringify(part)}`);
  t.deepEqual((await kernel.storage.list()).map((s) => s.id), ['store', 'other']);

  // A broken storage can be removed; the rest stays.
  await t.throwsAsync(kernel.storage.remove('broken'), { code: 'CORRAL_ERR_PERMISSION' });
  await kernel.storage.remove('broken', { caller: ROOT_CALLER });
  const removed = (await kernel.config.read('storage.cfg'))!.content;
  t.false(removed.includes('dir: broken'));
  t.true(removed.includes('dir: 1bad\n\tpath /srv/x\n\n'));
  await t.throwsAsync(kernel.storage.get('broken'), { code: ErrorCodes.notFound });
});

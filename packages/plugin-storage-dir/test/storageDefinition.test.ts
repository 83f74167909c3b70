import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, type InvalidConfigError, ROOT_CALLER } from '@corral/core';
import { createTestKernel, makeTempDir } from '@corral/core/testing';
import { storageDirPlugin } from '../src/index.js';

async function kernelWithOneStorage(t: Parameters<typeof createTestKernel>[0]) {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  await kernel.storage.add('local', 'dir', { path: await makeTempDir(t), content: 'images' }, { caller: ROOT_CALLER });
  const before = await kernel.config.read('storage.cfg');
  return { kernel, before: before?.content };
}

const bad: ReadonlyArray<{ title: string; options: Record<string, string>; key: string; mentions: string }> = [
  { title: 'relative path', options: { path: 'var/lib/vz' }, key: 'path', mentions: "option 'path'" },
  { title: 'path with a parenthesis', options: { path: '/srv/(x)' }, key: 'path', mentions: "option 'path'" },
  { title: 'missing path', options: { content: 'images' }, key: 'path', mentions: "option 'path' is required" },
  { title: 'unknown option', options: { path: '/srv/x', pool: 'tank' }, key: 'pool', mentions: "option 'pool' is not known for type 'dir'" },
  { title: 'bad content type', options: { path: '/srv/x', content: 'images,pictures' }, key: 'content', mentions: "unknown content type 'pictures'" },
  { title: 'bad default format', options: { path: '/srv/x', format: 'vhdx' }, key: 'format', mentions: "option 'format'" },
  { title: 'bad preallocation', options: { path: '/srv/x', preallocation: 'sometimes' }, key: 'preallocation', mentions: "option 'preallocation'" },
  { title: 'bad mkdir flag', options: { path: '/srv/x', mkdir: 'maybe' }, key: 'mkdir', mentions: "option 'mkdir'" },
  { title: 'bad is_mountpoint', options: { path: '/srv/x', is_mountpoint: 'perhaps' }, key: 'is_mountpoint', mentions: "option 'is_mountpoint'" },
  { title: 'bad prune-backups', options: { path: '/srv/x', 'prune-backups': 'keep-forever=1' }, key: 'prune-backups', mentions: "option 'prune-backups'" },
];

for (const c of bad) {
  test(`a dir definition with a ${c.title} is InvalidConfigError naming '${c.key}' and the storage, storage.cfg unchanged`, async (t) => {
    const { kernel, before } = await kernelWithOneStorage(t);
    const err = await t.throwsAsync<InvalidConfigError>(kernel.storage.add('broken', 'dir', c.options, { caller: ROOT_CALLER }), {
      code: ErrorCodes.invalidConfig,
    });
    t.is(err?.key, c.key);
    t.true(err?.message.includes(c.mentions), err?.message);
    t.true(err?.message.includes("'broken'"), `message names the storage: ${err?.message}`);
    t.is((await kernel.config.read('storage.cfg'))?.content, before, 'storage.cfg is unchanged');
    t.deepEqual((await kernel.storage.list()).map((s) => s.id), ['local']);
  });
}

test('updating a dir storage with a bad option is refused and changes nothing', async (t) => {
  const { kernel, before } = await kernelWithOneStorage(t);
  const err = await t.throwsAsync<InvalidConfigError>(kernel.storage.update('local', { path: 'relative' }, { caller: ROOT_CALLER }), {
    code: ErrorCodes.invalidConfig,
  });
  t.is(err?.key, 'path');
  t.is((await kernel.config.read('storage.cfg'))?.content, before);
});

test('a path that is a file, or missing with mkdir 0, is refused by checkDefinition', async (t) => {
  const { kernel, before } = await kernelWithOneStorage(t);
  const dir = await makeTempDir(t);
  const file = join(dir, 'not-a-dir');
  await writeFile(file, 'x');
  const e1 = await t.throwsAsync<InvalidConfigError>(kernel.storage.add('onfile', 'dir', { path: file }, { caller: ROOT_CALLER }), {
    code: ErrorCodes.invalidConfig,
  });
  t.is(e1?.key, 'path');
  const e2 = await t.throwsAsync<InvalidConfigError>(kernel.storage.add('nodir', 'dir', { path: join(dir, 'missing'), mkdir: '0' }, { caller: ROOT_CALLER }), {
    code: ErrorCodes.invalidConfig,
  });
  t.is(e2?.key, 'path');
  t.is((await kernel.config.read('storage.cfg'))?.content, before);
});

test('a valid definition is written in storage.cfg section format with Proxmox option names', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageDirPlugin] });
  const path = await makeTempDir(t);
  const def = await kernel.storage.add(
    'local',
    'dir',
    { path, content: 'iso,vztmpl,backup', 'prune-backups': 'keep-last=3', shared: true, mkdir: false },
    { caller: ROOT_CALLER },
  );
  t.deepEqual(def.content, ['iso', 'vztmpl', 'backup']);
  t.true(def.shared);
  const cfg = (await kernel.config.read('storage.cfg'))?.content ?? '';
  t.regex(cfg, /^dir: local$/m);
  t.regex(cfg, new RegExp(`^\\s+path ${path}$`, 'm'));
  t.regex(cfg, /^\s+prune-backups keep-last=3$/m);
  t.regex(cfg, /^\s+mkdir 0$/m);
});

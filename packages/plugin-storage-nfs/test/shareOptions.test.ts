import test from 'ava';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ErrorCodes, ROOT_CALLER, SHARE_OPTION_PROPERTIES, shareOptions, type StorageDefinition } from '@corral/core';
import { createTestKernel, RecordingCommandRunner } from '@corral/core/testing';
import { storageCifsPlugin, storageNfsPlugin } from '../src/index.js';

const def = (options: Record<string, string>): StorageDefinition => ({ id: 'nas', type: 'nfs', content: ['images'], nodes: [], disabled: false, shared: true, options });

test("mkdir and create-* read as Proxmox booleans: 'mkdir no' turns both off, 'create-subdirs yes' wins over it; 'maybe' is refused", (t) => {
  const schema = Type.Object({ mkdir: SHARE_OPTION_PROPERTIES.mkdir });
  t.true(Value.Check(schema, { mkdir: 'no' }));
  t.false(Value.Check(schema, { mkdir: 'maybe' }));
  const off = shareOptions(def({ path: '/mnt/pve/nas', mkdir: 'no' }));
  t.false(off.createBasePath);
  t.false(off.createSubdirs);
  t.true(shareOptions(def({ path: '/mnt/pve/nas', mkdir: 'no', 'create-subdirs': 'yes' })).createSubdirs);
});

test('content-dirs and bwlimit are checked and decoded by core for nfs and cifs (import included)', async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageNfsPlugin, storageCifsPlugin], commandRunner: new RecordingCommandRunner() });
  const nfs = await kernel.storage.add(
    'nas',
    'nfs',
    { server: '192.0.2.5', export: '/srv', path: '/mnt/pve/nas', content: 'images,import', 'content-dirs': 'import=ova,iso=isos', bwlimit: 'move=2.5' },
    { caller: ROOT_CALLER },
  );
  t.deepEqual(nfs.content, ['images', 'import']);
  t.deepEqual(shareOptions(nfs).contentDirs, { import: 'ova', iso: 'isos' });
  for (const [key, value] of [
    ['content-dirs', 'iso=../etc'],
    ['bwlimit', 'clone=-5'],
  ]) {
    await t.throwsAsync(
      kernel.storage.add('smb', 'cifs', { server: '192.0.2.5', share: 'pve', path: '/mnt/pve/smb', [key]: value }, { caller: ROOT_CALLER }),
      { code: ErrorCodes.invalidConfig, message: new RegExp(key) },
      `${key} ${value}`,
    );
  }
});

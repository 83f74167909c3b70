import test from 'ava';
import { Value } from '@sinclair/typebox/value';
import { ErrorCodes, type StorageDefinition } from '@corral/core';
import { createTestKernel, RecordingCommandRunner } from '@corral/core/testing';
import { storageLvmPlugin, storageLvmThinPlugin } from '../src/index.js';
import { lvmOptions, lvmOptionsSchema } from '../src/lvmOptions.js';

const def = (options: Record<string, string>): StorageDefinition => ({ id: 'san', type: 'lvm', content: ['images'], nodes: [], disabled: false, shared: false, options });

test("booleans read as Proxmox reads them: 'saferemove yes' and the bare key are true, 'tagged_only off' false; 'maybe' is refused", (t) => {
  for (const [value, expected] of [['yes', true], ['on', true], ['1', true], ['', true], ['TRUE', true], ['no', false], ['off', false], ['0', false]] as const) {
    t.true(Value.Check(lvmOptionsSchema, { vgname: 'pve', saferemove: value }), `schema accepts saferemove '${value}'`);
    t.is(lvmOptions(def({ vgname: 'pve', saferemove: value })).saferemove, expected, `saferemove '${value}'`);
  }
  t.false(lvmOptions(def({ vgname: 'pve', tagged_only: 'off' })).taggedOnly);
  t.false(Value.Check(lvmOptionsSchema, { vgname: 'pve', saferemove: 'maybe' }));
});

test("bwlimit is checked by core's Proxmox rule for both types: decimals pass, unknown keys do not (the driver's own pattern is gone)", async (t) => {
  const kernel = await createTestKernel(t, { plugins: [storageLvmPlugin, storageLvmThinPlugin], commandRunner: new RecordingCommandRunner() });
  await kernel.config.write(
    'storage.cfg',
    'lvmthin: thin\n\tthinpool data\n\tvgname pve\n\tbwlimit clone=12.5,default=1e3\n\nlvm: bad\n\tvgname pve\n\tbwlimit fast=1\n\n',
  );
  t.is((await kernel.storage.get('thin')).options.bwlimit, 'clone=12.5,default=1e3');
  await t.throwsAsync(kernel.storage.get('bad'), { code: ErrorCodes.parse, message: /bwlimit.*'fast=1' is not <default\|restore\|migration\|clone\|move>=<KiB\/s>/ });
});

import test from 'ava';
import { Value } from '@sinclair/typebox/value';
import type { StorageDefinition } from '@corral/core';
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

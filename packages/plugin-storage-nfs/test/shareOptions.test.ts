import test from 'ava';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { StorageDefinition } from '@corral/core';
import { SHARE_OPTION_PROPERTIES, shareOptions } from '../src/shareOptions.js';

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

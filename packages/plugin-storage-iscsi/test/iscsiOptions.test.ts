/** `bwlimit` of both iSCSI types is checked by core's Proxmox rule (it was a free string here). */
import test from 'ava';
import { ErrorCodes, ROOT_CALLER } from '@corral/core';
import { createTestKernel, RecordingCommandRunner } from '@corral/core/testing';
import { storageIscsiPlugin } from '../src/index.js';

for (const type of ['iscsi', 'iscsidirect']) {
  test(`${type}: bwlimit takes Proxmox's property string and refuses anything else`, async (t) => {
    const kernel = await createTestKernel(t, { plugins: [storageIscsiPlugin], commandRunner: new RecordingCommandRunner() });
    const target = 'iqn.2003-01.org.example:disk1';
    const ok = await kernel.storage.add('san', type, { portal: '203.0.113.9', target, content: 'images', bwlimit: 'migration=100000' }, { caller: ROOT_CALLER });
    t.is(ok.options.bwlimit, 'migration=100000');
    await t.throwsAsync(kernel.storage.add('bad', type, { portal: '203.0.113.9', target, content: 'images', bwlimit: 'as fast as you can' }, { caller: ROOT_CALLER }), {
      code: ErrorCodes.invalidConfig,
      message: /bwlimit/,
    });
  });
}

/**
 * `portal` and `target` of both iSCSI types are privileged: root's initiator would log the
 * host in to whatever target they name and the host would probe its disks.
 */
import test from 'ava';
import { ErrorCodes, PermissionError, ROOT_CALLER, unprivilegedCaller } from '@corral/core';
import { createTestKernel, RecordingCommandRunner } from '@corral/core/testing';
import { storageIscsiPlugin } from '../src/index.js';

const TARGET = 'iqn.2003-01.org.example:attacker';

for (const type of ['iscsi', 'iscsidirect']) {
  test(`an unprivileged caller cannot add an ${type} storage (portal and target are privileged); root can`, async (t) => {
    const kernel = await createTestKernel(t, { plugins: [storageIscsiPlugin], commandRunner: new RecordingCommandRunner() });
    const alice = unprivilegedCaller('alice@pve');
    const e = await t.throwsAsync(kernel.storage.add('san', type, { portal: '203.0.113.9', target: TARGET, content: 'images' }, { caller: alice }), {
      instanceOf: PermissionError,
      code: ErrorCodes.permission,
    });
    t.true(['portal', 'target'].includes(e!.key), `refused option: ${e!.key}`);
    t.regex(e!.message, /portal|target/);
    t.deepEqual(await kernel.storage.list(), []);

    await kernel.storage.add('san', type, { portal: '203.0.113.9', target: TARGET, content: 'images' }, { caller: ROOT_CALLER });
    const added = await kernel.storage.get('san');
    t.is(added.type, type);
    t.is(added.options.target, TARGET);
  });
}

import test from 'ava';
import { join } from 'node:path';
import { ErrorCodes, NodeCommandRunner } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { cifsShareReachable, type CifsMountSpec } from '../src/index.js';
import { SMBD_TEST_PASSWORD } from './support/SmbdServer.js';
import { smbdRealTest, useSmbdServer } from './support/smbdFixture.js';

// Real: pve's check_connection probe (smbclient) against a private smbd on 127.0.0.1.
const smb = useSmbdServer(test);
const smbTest = smbdRealTest(test);

async function spec(t: Parameters<typeof makeTempDir>[0], extra: Partial<CifsMountSpec>): Promise<CifsMountSpec> {
  const dir = await makeTempDir(t, 'corral-cifs-');
  return { server: smb().server, share: 'corral', subdir: '', path: join(dir, 'mnt'), credentialsFile: join(dir, 'cifs-credentials'), ...extra };
}

smbTest.serial('the smbclient probe reaches a guest share and a share with the right password', async (t) => {
  const runner = new NodeCommandRunner();
  t.true(await cifsShareReachable(runner, await spec(t, {})));
  t.true(await cifsShareReachable(runner, await spec(t, { username: 'root', password: SMBD_TEST_PASSWORD, smbversion: '3.0' })));
});

smbTest.serial('a wrong password is InvalidConfigError (NT_STATUS_LOGON_FAILURE); a missing share is unreachable', async (t) => {
  const runner = new NodeCommandRunner();
  await t.throwsAsync(cifsShareReachable(runner, await spec(t, { username: 'root', password: 'wrong' })), {
    code: ErrorCodes.invalidConfig,
    message: /LOGON_FAILURE/,
  });
  t.false(await cifsShareReachable(runner, await spec(t, { share: 'missing' })));
});

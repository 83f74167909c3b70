/**
 * Records the cifs fixtures of `test/fixtures` from the real tools on this machine: starts a
 * private smbd (see SmbdServer.ts), then runs the kernel mount (which fails here: no CIFS
 * client in this kernel) and pve's `smbclient` probe (good and bad credentials, a missing
 * share), writing one JSON file per command with a `# ` header naming tools, versions, date.
 *
 * Run after a build: `node packages/plugin-storage-nfs/dist/test/support/recordCifsFixtures.js`.
 *
 * @packageDocumentation
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, runTool } from '@corral/core/testing';
import { cifsMountArgv, cifsProbeArgv, type CifsMountSpec } from '../../src/index.js';
import { NFS_FIXTURE_DIR } from './nfsFixtures.js';
import { SMBD_TEST_PASSWORD, startSmbdServer } from './SmbdServer.js';

const dir = await makeTempDir(undefined, 'corral-cifs-record-');
const server = await startSmbdServer(dir);
try {
  const versions = (await runTool(['dpkg-query', '-W', '-f', '${Package} ${Version}, ', 'samba', 'smbclient', 'cifs-utils'])).stdout.replace(/, $/, '');
  const header = `# recorded ${new Date().toISOString().slice(0, 10)} on Debian 12, kernel without a CIFS client, server smbd on 127.0.0.1 (${versions})\n`;
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const good = join(dir, 'good.pw');
  const bad = join(dir, 'bad.pw');
  await writeFile(good, `password=${SMBD_TEST_PASSWORD}\n`, { mode: 0o600 });
  await writeFile(bad, 'password=wrong\n', { mode: 0o600 });
  const spec: CifsMountSpec = { server: '127.0.0.1', share: 'corral', subdir: '', path: mnt, username: 'root', password: 'x', credentialsFile: good };
  const commands: Array<[string, string[]]> = [
    ['mount-cifs-failure.txt', cifsMountArgv(spec)],
    ['smbclient-probe-ok.txt', cifsProbeArgv(spec)],
    ['smbclient-probe-logon-failure.txt', cifsProbeArgv({ ...spec, credentialsFile: bad })],
    ['smbclient-probe-missing-share.txt', cifsProbeArgv({ ...spec, share: 'missing' })],
  ];
  for (const [file, argv] of commands) {
    const r = await runTool(argv, { timeoutMs: 30_000 });
    await writeFile(join(NFS_FIXTURE_DIR, file), header + JSON.stringify({ argv, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }, null, 2) + '\n');
    console.log(`${file}: exit ${r.exitCode}`);
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

/**
 * Records the fixtures of `test/fixtures` from the real tools on this machine: starts a
 * private ganesha (see GaneshaServer.ts), then runs the kernel mount (which fails here: no
 * NFS client in this kernel), `showmount` and `rpcinfo` as the driver does, and writes one
 * JSON file per command with a `# ` header naming tool, versions and date; last, `showmount`
 * against the stopped server.
 *
 * Run after a build: `node packages/plugin-storage-nfs/dist/test/support/recordNfsFixtures.js`.
 *
 * @packageDocumentation
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, runTool } from '@corral/core/testing';
import { nfsMountArgv, nfsProbeArgv } from '../../src/index.js';
import { startGaneshaServer } from './GaneshaServer.js';
import { NFS_FIXTURE_DIR } from './nfsFixtures.js';

const dir = await makeTempDir(undefined, 'corral-nfs-record-');
const server = await startGaneshaServer(dir);
const header = async () => {
  const versions = (
    await runTool(['dpkg-query', '-W', '-f', '${Package} ${Version}, ', 'nfs-common', 'nfs-ganesha', 'rpcbind', 'libnfs-utils'])
  ).stdout.replace(/, $/, '');
  return `# recorded ${new Date().toISOString().slice(0, 10)} on Debian 12, kernel without an NFS client, server nfs-ganesha on 127.0.0.1 (${versions})\n`;
};
const record = async (file: string, argv: string[]) => {
  const r = await runTool(argv, { timeoutMs: 30_000 });
  await writeFile(
    join(NFS_FIXTURE_DIR, file),
    (await header()) + JSON.stringify({ argv, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }, null, 2) + '\n'
  );
  console.log(`${file}: exit ${r.exitCode}`);
};
try {
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const spec = { server: server.server, export: server.exportDir, path: mnt };
  const commands: Array<[string, string[]]> = [
    ['mount-nfs-v3-failure.txt', nfsMountArgv({ ...spec, mountOptions: 'vers=3' })],
    ['showmount-exports.txt', nfsProbeArgv(server.server, undefined)],
    ['rpcinfo-nfs4.txt', nfsProbeArgv(server.server, 'vers=4.2')],
  ];
  await mkdir(NFS_FIXTURE_DIR, { recursive: true });
  for (const [file, argv] of commands) await record(file, argv);
} finally {
  await server.stop();
}
// With ganesha (and the rpcbind it started) gone: what the probe sees from a dead server.
await record('showmount-unreachable.txt', nfsProbeArgv(server.server, undefined));
await rm(dir, { recursive: true, force: true });

/**
 * Records the fixtures of `test/fixtures` from the real tools on this machine: starts a
 * private glusterd (see GlusterServer.ts), then runs what the driver runs — `gluster volume
 * info` (pve's probe of a local server) of a started, a stopped and a missing volume, the FUSE
 * mount of a missing volume (which fails) and of a real one, `umount` — and writes one JSON file
 * per command with a `# ` header naming tool, versions and date. The server's random address,
 * its private directory and volume names are replaced by fixed placeholders (`198.51.100.10`,
 * `/srv/gluster`, `gv0`, `gv1`), so the fixtures do not change from run to run.
 *
 * Run after a build, as root: `node packages/plugin-storage-glusterfs/dist/test/support/recordGlusterFixtures.js`.
 *
 * @packageDocumentation
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, runTool } from '@corral/core/testing';
import { glusterfsMountArgv, glusterVolumeInfoArgv } from '../../src/index.js';
import { GLUSTER_FIXTURE_DIR } from './glusterFixtures.js';
import { randomServerAddress, startGlusterServer } from './GlusterServer.js';

const dir = await makeTempDir(undefined, 'corral-gluster-record-');
const server = await startGlusterServer(dir, randomServerAddress());
const [gv0, gv1] = server.volumes;
const placeholders = (text: string) =>
  text
    .replaceAll(server.address, '198.51.100.10')
    .replaceAll(dir, '/srv/gluster')
    .replaceAll(gv0, 'gv0')
    .replaceAll(gv1, 'gv1')
    .replace(/Volume ID: [0-9a-f-]+/g, 'Volume ID: 00000000-0000-0000-0000-000000000000')
    .replace(/\[\d{4}-\d\d-\d\d [\d:.]+ \+0000\]/g, '[<time>]');
const versions = (await runTool(['dpkg-query', '-W', '-f', '${Package} ${Version}, ', 'glusterfs-server', 'glusterfs-client', 'util-linux'])).stdout.replace(/, $/, '');
const header = `# recorded ${new Date().toISOString().slice(0, 10)} on Debian 12 (${versions}), glusterd in a network namespace, reached from the host through a veth route\n`;
/** Runs `argv`; `cliSocket` adds `--glusterd-sock=<socket> --log-file=<file>` after `gluster` (a private glusterd), which the fixture omits. */
const record = async (file: string, argv: string[], options: { cliSocket?: boolean } = {}) => {
  const run = options.cliSocket ? [argv[0]!, `--glusterd-sock=${server.cliSocket}`, `--log-file=${join(dir, 'cli.log')}`, ...argv.slice(1)] : argv;
  const r = await runTool(run, { timeoutMs: 60_000 });
  const json = JSON.stringify({ argv, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }, null, 2);
  await writeFile(join(GLUSTER_FIXTURE_DIR, file), header + placeholders(json) + '\n');
  console.log(`${file}: exit ${r.exitCode}`);
};
try {
  await mkdir(GLUSTER_FIXTURE_DIR, { recursive: true });
  await server.gluster(['volume', 'stop', gv1]);
  await record('gluster-volume-info-started.txt', glusterVolumeInfoArgv(gv0), { cliSocket: true });
  await record('gluster-volume-info-stopped.txt', glusterVolumeInfoArgv(gv1), { cliSocket: true });
  await record('gluster-volume-info-missing.txt', glusterVolumeInfoArgv('missing'), { cliSocket: true });
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  await record('mount-glusterfs-missing-volume.txt', glusterfsMountArgv({ server: server.address, volume: 'missing', path: mnt }));
  await record('mount-glusterfs.txt', glusterfsMountArgv({ server: server.address, volume: gv0, path: mnt }));
  await record('proc-mounts-glusterfs.txt', ['grep', ' fuse.glusterfs ', '/proc/mounts']);
  await record('umount-glusterfs.txt', ['umount', mnt]);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

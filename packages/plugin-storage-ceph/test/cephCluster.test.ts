import test from 'ava';
import { stat } from 'node:fs/promises';
import { hasProgram, makeTempDir, realTest } from '@corral/core/testing';
import { CEPH_TEST_PROGRAMS, startCephTestCluster } from './support/CephTestCluster.js';
import { runTool, runToolOk } from '@corral/core/testing';

const cephTest = realTest(test, CEPH_TEST_PROGRAMS.every(hasProgram), `needs ${CEPH_TEST_PROGRAMS.join(', ')} (Debian packages ceph-mon ceph-mgr ceph-osd ceph-common)`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

cephTest('a private one-node Ceph cluster serves rbd create/info/rm to a non-admin client and stops cleanly', async (t) => {
  const base = await makeTempDir(t, 'corral-ceph-');
  const cluster = await startCephTestCluster({ dir: base });
  try {
    t.log(`ready in ${Math.round(cluster.readyMs)} ms, mon ${cluster.monHost}, dir ${cluster.dir}`);
    t.regex(cluster.fsid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    t.is(cluster.clientId, 'corral');
    t.true(cluster.confPath.startsWith(cluster.dir));
    for (const pid of Object.values(cluster.pids)) t.true(alive(pid));

    const health = JSON.parse((await runToolOk(['ceph', ...cluster.adminArgs, 'health', '--format', 'json'])).stdout);
    t.is(health.status, 'HEALTH_OK');
    // A disk a little fuller than today's must not turn the test cluster to MON_DISK_LOW.
    const warn = (await runToolOk(['ceph', ...cluster.adminArgs, 'config', 'show', 'mon.a', 'mon_data_avail_warn'])).stdout.trim();
    t.is(warn, '1');

    // As Proxmox runs rbd: explicit -p, -m, -n client.X and --keyring, no ceph.conf.
    const rbd = (...args: string[]) =>
      runTool(
        ['rbd', '-p', cluster.pool, '-c', '/dev/null', '-m', cluster.monHost, '-n', `client.${cluster.clientId}`, '--keyring', cluster.keyringPath, ...args],
        { timeoutMs: 30_000 },
      );
    const created = await rbd('create', '--image-format', '2', '--size', '65536', 'vm-100-disk-0');
    t.is(created.exitCode, 0, created.stderr);

    const info = await rbd('info', 'vm-100-disk-0', '--format', 'json');
    t.is(info.exitCode, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { name: string; size: number; format: number; features: string[] };
    t.is(parsed.name, 'vm-100-disk-0');
    t.is(parsed.size, 64 * 1024 ** 3);
    t.is(parsed.format, 2);
    t.true(parsed.features.includes('layering'));

    const ls = JSON.parse((await rbd('ls', '-l', '--format', 'json')).stdout) as { image: string; size: number }[];
    t.deepEqual(ls.map((i) => [i.image, i.size]), [['vm-100-disk-0', 64 * 1024 ** 3]]);

    const removed = await rbd('rm', 'vm-100-disk-0');
    t.is(removed.exitCode, 0, removed.stderr);
    const gone = await rbd('info', 'vm-100-disk-0', '--format', 'json');
    t.not(gone.exitCode, 0);
    t.regex(gone.stderr, /No such file or directory/);
  } finally {
    const pids = Object.values(cluster.pids);
    const dir = cluster.dir;
    const before = performance.now();
    await cluster.stop();
    t.log(`stopped in ${Math.round(performance.now() - before)} ms`);
    for (const pid of pids) t.false(alive(pid), `daemon pid ${pid} still running after stop()`);
    await t.throwsAsync(stat(dir), { code: 'ENOENT' });
    await cluster.stop(); // idempotent
  }
});

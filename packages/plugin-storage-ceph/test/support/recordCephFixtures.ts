/**
 * Records real `ceph`/`rados`/`rbd` output into `test/fixtures/` from a throw-away
 * {@link startCephTestCluster} cluster, and writes the README that names tool, version and the
 * command of each file. Run after a build:
 *
 * ```
 * node packages/plugin-storage-ceph/dist/test/support/recordCephFixtures.js
 * ```
 *
 * Images follow Proxmox's naming: vm-100-disk-0 (data, a snapshot, resized),
 * base-101-disk-0 (template: protected `__base__` snapshot), vm-102-disk-0 (linked clone).
 *
 * @packageDocumentation
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startCephTestCluster } from './CephTestCluster.js';
import { runTool, runToolOk, type RunToolResult } from '@corral/core/testing';
import { RbdCommands } from '../../src/RbdCommands.js';
import type { RbdConnection } from '../../src/RbdConnection.js';

/** Options of {@link recordCephFixtures}. */
export interface RecordCephFixturesOptions {
  /** Directory receiving the fixture files and README.md (created if missing). */
  outDir: string;
}

interface Recorded {
  file: string;
  command: string;
  exitCode: number | null;
  note: string;
}

/**
 * Starts a test cluster, builds the image set described in the module doc, records each
 * command's output into `outDir` and stops the cluster. Resolves with the list of files written.
 */
export async function recordCephFixtures(options: RecordCephFixturesOptions): Promise<string[]> {
  const { outDir } = options;
  await mkdir(outDir, { recursive: true });
  const base = await mkdtemp(join(tmpdir(), 'corral-cephfx-'));
  const cluster = await startCephTestCluster({ dir: base });
  const recorded: Recorded[] = [];
  try {
    const { pool } = cluster;
    // Proxmox's argv shape: rbd -p <pool> -c <conf> -n client.<id> --keyring <file> <op> ...
    const conn = ['-c', cluster.confPath, '-n', `client.${cluster.clientId}`, '--keyring', cluster.keyringPath];
    const rbdArgv = (...a: string[]) => ['rbd', '-p', pool, ...conn, ...a];
    const shown = (argv: readonly string[]) =>
      argv
        .join(' ')
        .replaceAll(cluster.confPath, '<conf>')
        .replaceAll(cluster.keyringPath, '<keyring>')
        .replaceAll(base, '<dir>');

    /** Runs argv; stores stdout (and stderr when asked or on failure) under `file`. */
    const rec = async (file: string, argv: readonly string[], note = '', opts: { expectFail?: boolean } = {}) => {
      const r: RunToolResult = await runTool(argv, { timeoutMs: 60_000 });
      if (!opts.expectFail && r.exitCode !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
      if (opts.expectFail && r.exitCode === 0) throw new Error(`${argv.join(' ')} unexpectedly succeeded`);
      const text = opts.expectFail ? `${r.stdout}${r.stderr}` : r.stdout;
      await writeFile(join(outDir, file), text);
      recorded.push({ file, command: shown(argv), exitCode: r.exitCode, note });
      return r;
    };
    const ok = (...a: string[]) => runToolOk(rbdArgv(...a), { timeoutMs: 60_000 });

    await rec('ceph-version.txt', ['ceph', '--version']);
    await rec('rbd-ls-l-empty.json', rbdArgv('ls', '-l', '--format', 'json'), 'pool without images');

    await ok('create', '--image-format', '2', '--size', '4096', 'vm-100-disk-0');
    await ok('bench', '--io-type', 'write', '--io-size', '4096', '--io-pattern', 'seq', '--io-total', '8M', 'vm-100-disk-0');
    await ok('snap', 'create', '--snap', 'snap1', 'vm-100-disk-0');
    await ok('bench', '--io-type', 'write', '--io-size', '4096', '--io-pattern', 'seq', '--io-total', '12M', 'vm-100-disk-0');
    await ok('resize', '--size', '8192', 'vm-100-disk-0');
    await ok('create', '--image-format', '2', '--size', '1024', 'vm-101-disk-0');
    await ok('rename', `${pool}/vm-101-disk-0`, `${pool}/base-101-disk-0`);
    await ok('snap', 'create', '--snap', '__base__', 'base-101-disk-0');
    await ok('snap', 'protect', 'base-101-disk-0', '--snap', '__base__');
    await ok('clone', `${pool}/base-101-disk-0`, '--snap', '__base__', `${pool}/vm-102-disk-0`);

    // Usage reaches `ceph df` through the mgr's stats period: wait until the writes show.
    const until = performance.now() + 30_000;
    for (;;) {
      const df = JSON.parse((await runToolOk(['ceph', ...conn, 'df', '--format', 'json'])).stdout) as {
        pools: { name: string; stats: { stored: number } }[];
      };
      if ((df.pools.find((p) => p.name === pool)?.stats.stored ?? 0) >= 12 * 1024 ** 2) break;
      if (performance.now() > until) throw new Error('ceph df did not show the written data within 30 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    await rec('ceph-df.json', ['ceph', ...conn, 'df', '--format', 'json'], "Proxmox status: mon_command {prefix: 'df'}; pool entry stats.max_avail / stats.stored");
    await rec('ceph-fsid.json', ['ceph', ...conn, 'fsid', '--format', 'json'], 'Proxmox krbd device path: mon_command fsid');
    await rec('rados-df.json', ['rados', ...conn, 'df', '--format', 'json']);
    await rec('rbd-ls.json', rbdArgv('ls', '--format', 'json'), 'Proxmox rbd_volume_exists');
    await rec('rbd-ls-l.json', rbdArgv('ls', '-l', '--format', 'json'), 'Proxmox rbd_ls (list_images); snapshot rows carry "snapshot", clones "parent"');
    await rec('rbd-info-vm-100-disk-0.json', rbdArgv('info', 'vm-100-disk-0', '--format', 'json'));
    await rec('rbd-info-vm-102-disk-0.json', rbdArgv('info', 'vm-102-disk-0', '--format', 'json'), 'linked clone: has parent');
    await rec(
      'rbd-info-base-101-disk-0-snap-__base__.json',
      rbdArgv('info', 'base-101-disk-0', '--format', 'json', '--snap', '__base__'),
      'protected snapshot: "protected": "true" (a string)',
    );
    await rec('rbd-snap-ls-vm-100-disk-0.json', rbdArgv('snap', 'ls', 'vm-100-disk-0', '--format', 'json'));
    await rec('rbd-snap-ls-base-101-disk-0.json', rbdArgv('snap', 'ls', 'base-101-disk-0', '--format', 'json'));
    await rec('rbd-du.json', rbdArgv('du', '--format', 'json'), 'whole pool');
    await rec('rbd-du-vm-100-disk-0.json', rbdArgv('du', 'vm-100-disk-0', '--format', 'json'), 'Proxmox rbd_volume_du: includes the snapshot row');
    await rec('rbd-showmapped.json', ['rbd', ...conn, 'showmapped', '--format', 'json'], 'no krbd here: nothing mapped (showmapped rejects -p)');

    await rec('rbd-map-failure.txt', rbdArgv('map', 'vm-100-disk-0'), 'krbd cannot work on this kernel (no module loading)', { expectFail: true });
    await rec('rbd-info-missing.txt', rbdArgv('info', 'vm-999-disk-0', '--format', 'json'), 'missing image', { expectFail: true });
    await rec('rbd-create-exists.txt', rbdArgv('create', '--image-format', '2', '--size', '1024', 'vm-100-disk-0'), 'name taken', { expectFail: true });
    await rec('rbd-rm-with-snapshots.txt', rbdArgv('rm', 'vm-100-disk-0'), 'image has snapshots', { expectFail: true });
    await rec('rbd-snap-rm-protected.txt', rbdArgv('snap', 'rm', '--snap', '__base__', 'base-101-disk-0'), 'protected snapshot', {
      expectFail: true,
    });
    await rec('rbd-snap-unprotect-children.txt', rbdArgv('snap', 'unprotect', 'base-101-disk-0', '--snap', '__base__'), 'snapshot has a clone', {
      expectFail: true,
    });
    await rec('rbd-ls-wrong-pool.txt', ['rbd', '-p', 'nosuchpool', ...conn, 'ls', '-l', '--format', 'json'], 'pool does not exist', {
      expectFail: true,
    });

    // The exact argv of the rbd driver (src/RbdCommands.ts: image specs, --id, --client_mount_timeout).
    const connection: RbdConnection = { confPath: cluster.confPath, keyringPath: cluster.keyringPath, userId: cluster.clientId, connectTimeoutSeconds: 5 };
    const cmd = new RbdCommands(connection, { pool });
    await rec('driver-ls-l.json', cmd.list(), 'driver listVolumes');
    await rec('driver-info-vm-102-disk-0.json', cmd.info('vm-102-disk-0'), 'driver volumeInfo of a linked clone');
    await rec('driver-snap-ls-vm-100-disk-0.json', cmd.snapList('vm-100-disk-0'), 'driver snapshotList');
    await rec('driver-children-base-101-disk-0.json', cmd.children('base-101-disk-0'), 'driver free: clones of every snapshot');
    await rec('driver-children-none.json', cmd.children('vm-100-disk-0'), 'driver free: no clones');
    await rec('driver-showmapped.json', cmd.showMapped(), 'krbd: nothing mapped here');
    await rec('driver-ceph-df.json', cmd.df(), 'driver status');
    await rec('driver-info-missing.txt', cmd.info('vm-999-disk-0'), 'missing image', { expectFail: true });
    await rec('driver-snap-create-exists.txt', cmd.snapCreate('vm-100-disk-0', 'snap1'), 'snapshot name taken', { expectFail: true });
    await rec('driver-snap-unprotect-children.txt', cmd.snapUnprotect('base-101-disk-0', '__base__'), 'snapshot has a clone', { expectFail: true });
    await rec('driver-map-failure.txt', cmd.map('vm-100-disk-0'), 'krbd cannot work on this kernel (no module loading)', { expectFail: true });
    await rec('driver-ls-missing-pool.txt', new RbdCommands(connection, { pool: 'nosuchpool' }).list(), 'pool does not exist', { expectFail: true });
    await rec('driver-ls-missing-namespace.txt', new RbdCommands(connection, { pool, namespace: 'nosuchns' }).list(), 'namespace does not exist', { expectFail: true });
    const closed: RbdConnection = { confPath: '/dev/null', monHost: '127.0.0.1:9', keyringPath: cluster.keyringPath, userId: cluster.clientId, connectTimeoutSeconds: 2 };
    await rec('driver-ls-unreachable.txt', new RbdCommands(closed, { pool }).list(), 'monitor address with nothing listening: fails after client_mount_timeout (2 s)', { expectFail: true });
    await rec('driver-ceph-df-unreachable.txt', new RbdCommands(closed, { pool }).df(), 'the same for ceph df', { expectFail: true });
    const badKeyring = join(base, 'wrong.keyring');
    await writeFile(badKeyring, `[client.${cluster.clientId}]\n\tkey = AQBaN0VnAAAAABAAbfXE3kFxc7AFbWVFhyQeRg==\n`, { mode: 0o600 });
    await rec('driver-ls-wrong-key.txt', new RbdCommands({ ...connection, keyringPath: badKeyring }, { pool }).list(), 'a key the cluster does not know', { expectFail: true });

    const version = (await runToolOk(['ceph', '--version'])).stdout.trim();
    const rows = recorded.map(
      (r) => `| \`${r.file}\` | \`${r.command.replaceAll('|', '\\|')}\` | ${r.exitCode} | ${r.note.replaceAll('|', '\\|')} |`,
    );
    const readme = [
      '# Recorded Ceph output',
      '',
      `Real output of \`ceph\`, \`rados\` and \`rbd\` from **${version}** (Debian 12 packages`,
      'ceph-common / ceph-mon / ceph-mgr / ceph-osd 16.2.15+ds-0+deb12u2), recorded against a one-node',
      'memstore cluster started by `test/support/CephTestCluster.ts`, as the non-admin client',
      `\`client.${cluster.clientId}\` (caps \`profile rbd\`), with Proxmox's argv shape. Re-record with`,
      '`node packages/plugin-storage-ceph/dist/test/support/recordCephFixtures.js` after a build.',
      'Files are the command\'s stdout; for failing commands (exit code not 0) stdout followed by stderr.',
      '',
      'Images: `vm-100-disk-0` (4 GiB, 8 MiB written, snapshot `snap1`, then 12 MiB written from offset 0, resized to 8 GiB),',
      '`base-101-disk-0` (1 GiB template with protected snapshot `__base__`), `vm-102-disk-0` (linked clone',
      'of `base-101-disk-0@__base__`). Pool `rbd`, size 1, 8 PGs.',
      '',
      '| file | command | exit | note |',
      '|---|---|---|---|',
      ...rows,
      '',
      '## Not recordable here',
      '',
      'krbd does not work on this kernel (`rbd map` cannot load the rbd module: see `rbd-map-failure.txt`),',
      'so a successful `rbd map` (prints the device, e.g. `/dev/rbd0`) and a non-empty',
      '`rbd showmapped --format json` cannot be recorded. `krbd/` holds their shape, derived from the',
      'Ceph 16 source that prints them (see `krbd/README.md`); the argv tests of the krbd paths replay it.',
      '',
    ].join('\n');
    await writeFile(join(outDir, 'README.md'), readme);
    return [...recorded.map((r) => r.file), 'README.md'];
  } finally {
    await cluster.stop();
    await rm(base, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // dist/test/support/ -> <package>/test/fixtures
  const outDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
  const files = await recordCephFixtures({ outDir });
  console.log(`wrote ${files.length} files to ${outDir}`);
}

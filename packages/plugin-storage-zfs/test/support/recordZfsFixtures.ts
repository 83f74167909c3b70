/**
 * Records real `zfs`/`zpool` output of zfs-fuse into `test/fixtures/` from a throw-away pool
 * named `corralfixture`, and writes the README naming tool, version and the command of each
 * file. Run after a build (needs root and zfs-fuse):
 *
 * ```
 * node packages/plugin-storage-zfs/dist/test/support/recordZfsFixtures.js
 * ```
 *
 * Datasets follow Proxmox's naming: subvol-100-disk-0 (64 MiB refquota, data, snapshot
 * `snap1` carrying Proxmox's `pve-storage:refquota` user property), basevol-101-disk-0
 * (template with `__base__` snapshot), subvol-102-disk-0 (linked clone of it),
 * subvol-103-disk-0 (no refquota), subvol-104-disk-0 (received with `zfs send | zfs recv`).
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runTool, runToolOk, type RunToolResult } from '@corral/core/testing';
import { createZfsTestPool } from './ZfsTestPool.js';
import { ZfsCommands } from '../../src/ZfsCommands.js';

/** Options of {@link recordZfsFixtures}. */
export interface RecordZfsFixturesOptions {
  /** Directory receiving the fixture files and README.md (created if missing). */
  outDir: string;
}

interface Recorded {
  file: string;
  command: string;
  exit: string;
  note: string;
}

function pipeSendRecv(sendArgs: readonly string[], recvArgs: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const send = spawn('zfs', sendArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const recv = spawn('zfs', recvArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    send.stderr.on('data', (b: Buffer) => (err += b));
    recv.stderr.on('data', (b: Buffer) => (err += b));
    send.stdout.pipe(recv.stdin);
    let pending = 2;
    let failed = false;
    const done = (code: number | null) => {
      if (code !== 0) failed = true;
      if (--pending === 0) {
        if (failed) reject(new Error(`zfs send | zfs recv failed: ${err}`));
        else resolvePromise();
      }
    };
    send.on('close', done);
    recv.on('close', done);
  });
}

/**
 * Creates the `corralfixture` pool, builds the datasets described in the module doc, records
 * each command's output into `outDir` and destroys the pool. Resolves with the files written.
 */
export async function recordZfsFixtures(options: RecordZfsFixturesOptions): Promise<string[]> {
  const { outDir } = options;
  await mkdir(outDir, { recursive: true });
  const base = await mkdtemp(join(tmpdir(), 'corral-zfsfx-'));
  const tp = await createZfsTestPool({ dir: base, name: 'corralfixture', sizeBytes: 256 * 1024 ** 2 });
  const recorded: Recorded[] = [];
  try {
    const { pool, mountpoint } = tp;
    const shown = (argv: readonly string[]) => argv.join(' ').replaceAll(tp.dir, '<dir>');
    const rec = async (file: string, argv: readonly string[], note = '', opts: { expectFail?: boolean } = {}) => {
      const r: RunToolResult = await runTool(argv, { timeoutMs: 60_000, cwd: tp.dir });
      const failed = r.exitCode !== 0;
      if (failed !== Boolean(opts.expectFail)) {
        throw new Error(`${argv.join(' ')}: exit ${r.exitCode ?? r.signal}, expected ${opts.expectFail ? 'failure' : 'success'}: ${r.stderr}`);
      }
      await writeFile(join(outDir, file), failed ? `${r.stdout}${r.stderr}` : r.stdout);
      recorded.push({ file, command: shown(argv), exit: r.exitCode === null ? String(r.signal) : String(r.exitCode), note });
    };
    const zfs = (...a: string[]) => runToolOk(['zfs', ...a], { timeoutMs: 60_000 });
    const mib = Buffer.alloc(1024 * 1024, 'corral\n');

    // subvol-100-disk-0: Proxmox creates subvols with refquota=<KiB>k.
    await zfs('create', '-o', 'refquota=65536k', `${pool}/subvol-100-disk-0`);
    await writeFile(join(mountpoint, 'subvol-100-disk-0', 'a.bin'), mib);
    await zfs('snapshot', `${pool}/subvol-100-disk-0@snap1`);
    await zfs('set', 'pve-storage:refquota=67108864', `${pool}/subvol-100-disk-0@snap1`);
    await writeFile(join(mountpoint, 'subvol-100-disk-0', 'b.bin'), mib);
    // basevol-101-disk-0: a template. WARNING: zfs-fuse renames only unmounted datasets.
    await zfs('create', '-o', 'refquota=32768k', `${pool}/subvol-101-disk-0`);
    await zfs('unmount', `${pool}/subvol-101-disk-0`);
    await zfs('rename', `${pool}/subvol-101-disk-0`, `${pool}/basevol-101-disk-0`);
    await zfs('mount', `${pool}/basevol-101-disk-0`);
    await zfs('snapshot', `${pool}/basevol-101-disk-0@__base__`);
    await zfs('clone', '-o', 'refquota=33554432', `${pool}/basevol-101-disk-0@__base__`, `${pool}/subvol-102-disk-0`);
    await zfs('create', '-o', 'refquota=none', `${pool}/subvol-103-disk-0`);
    await pipeSendRecv(['send', `${pool}/subvol-100-disk-0@snap1`], ['recv', `${pool}/subvol-104-disk-0`]);

    const ds = `${pool}/subvol-100-disk-0`;
    await rec('zfs-fuse-version.txt', ['dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'zfs-fuse'], 'package version');
    await rec('zpool-upgrade-v.txt', ['zpool', 'upgrade', '-v'], 'supported pool versions (zfs-fuse: 23)');
    await rec('zfs-get-pool-available-used.txt', ['zfs', 'get', '-o', 'value', '-Hp', 'available,used', pool], 'Proxmox status (zfs_get_pool_stats): total = available + used');
    await rec('zfs-get-mountpoint.txt', ['zfs', 'get', '-o', 'value', '-Hp', 'mountpoint', pool], 'Proxmox on_add_hook');
    await rec('zfs-get-Hp-dataset.txt', ['zfs', 'get', '-Hp', '-o', 'name,property,value', 'used,available,refquota', ds], 'one subvol, exact bytes');
    await rec('zfs-get-size-usedbydataset.txt', ['zfs', 'get', '-o', 'value', '-Hp', 'refquota,usedbydataset', ds], 'Proxmox volume_size_info (subvol)');
    await rec('zfs-get-mounted.txt', ['zfs', 'get', '-o', 'value', '-Hp', 'mounted', ds], 'Proxmox activate_volume');
    await rec(
      'zfs-get-Hp-d1-listing.txt',
      ['zfs', 'get', '-Hp', '-d', '1', '-o', 'name,property,value', 'type,volsize,origin,refquota', pool],
      'listing with exact bytes: replaces `zfs list -Hp -d1` (no -p on zfs-fuse); -d1 shows no snapshots',
    );
    await rec(
      'zfs-get-Hp-r-listing.txt',
      ['zfs', 'get', '-Hp', '-r', '-o', 'name,property,value', 'type,used,available,referenced,refquota,volsize,origin,creation,mountpoint,mounted', pool],
      'recursive: includes snapshots; "-" where a property does not apply',
    );
    await rec(
      'zfs-list-proxmox-d1.txt',
      ['zfs', 'list', '-o', 'name,volsize,origin,type,refquota', '-t', 'volume,filesystem', '-d1', '-H', pool],
      "Proxmox's zfs_list_zvol argv without -p: sizes are human-readable",
    );
    await rec(
      'zfs-list-Hp-failure.txt',
      ['zfs', 'list', '-o', 'name,volsize,origin,type,refquota', '-t', 'volume,filesystem', '-d1', '-Hp', pool],
      "Proxmox's exact argv: zfs-fuse has no `zfs list -p`",
      { expectFail: true },
    );
    await rec('zfs-list-all.txt', ['zfs', 'list', '-H', '-o', 'name,used,avail,refer,refquota,origin,type,mountpoint', '-t', 'all', '-r', pool]);
    await rec('zfs-list-snapshots-sorted.txt', ['zfs', 'list', '-H', '-r', '-t', 'snapshot', '-o', 'name', '-s', 'creation', ds], 'Proxmox zfs_get_sorted_snapshot_list');
    await rec(
      'zfs-get-Hp-snapshot-info.txt',
      ['zfs', 'get', '-Hp', '-r', '-o', 'name,property,value', 'type,guid,creation', ds],
      'replaces Proxmox volume_snapshot_info (`zfs list -Hp -t snapshot -o name,guid,creation`)',
    );
    await rec('zfs-get-userprop.txt', ['zfs', 'get', '-o', 'value', '-Hp', 'pve-storage:refquota', `${ds}@snap1`], 'Proxmox refquota tracking on subvol snapshots');
    await rec('zfs-get-userprop-unset.txt', ['zfs', 'get', '-o', 'value', '-Hp', 'pve-storage:refquota', `${pool}/basevol-101-disk-0@__base__`], 'unset user property: "-"');
    await rec('zpool-get.txt', ['zpool', 'get', 'size,free,allocated,health,version', pool], 'zfs-fuse `zpool get` takes no -H/-p: header and human sizes');
    await rec('zpool-get-Hp-failure.txt', ['zpool', 'get', '-Hp', 'size,free,allocated,health', pool], 'modern OpenZFS argv, refused', { expectFail: true });
    await rec('zpool-list-H.txt', ['zpool', 'list', '-H', '-o', 'name,size,allocated,free,capacity,health', pool], 'human sizes only');
    await rec('zpool-list-name.txt', ['zpool', 'list', '-o', 'name', '-H', pool], 'Proxmox activate_storage (pool imported?)');
    await rec('zpool-status.txt', ['zpool', 'status', pool]);

    await rec('zfs-create-zvol-failure.txt', ['zfs', 'create', '-V', '16M', `${pool}/vm-105-disk-0`], 'no zvols on zfs-fuse: the command aborts', { expectFail: true });
    await rec(
      'zfs-create-proxmox-subvol-failure.txt',
      ['zfs', 'create', '-o', 'acltype=posixacl', '-o', 'xattr=sa', '-o', 'refquota=65536k', `${pool}/subvol-106-disk-0`],
      "Proxmox's zfs_create_subvol argv: zfs-fuse knows no acltype and only xattr=on|off",
      { expectFail: true },
    );
    await rec('zfs-get-missing.txt', ['zfs', 'get', '-H', 'name', `${pool}/vm-999-disk-0`], 'Proxmox existence check (volume_import, rename_volume)', { expectFail: true });
    await rec('zfs-destroy-snapshot-with-clone.txt', ['zfs', 'destroy', `${pool}/basevol-101-disk-0@__base__`], 'snapshot has a clone', { expectFail: true });
    await rec('zfs-rename-mounted-busy.txt', ['zfs', 'rename', `${pool}/subvol-103-disk-0`, `${pool}/subvol-103-disk-1`], 'zfs-fuse: rename needs `zfs unmount` first', {
      expectFail: true,
    });
    await rec('zfs-send-RpvU-failure.txt', ['zfs', 'send', '-RpvU', '--', `${ds}@snap1`], "Proxmox volume_export argv: no -U on zfs-fuse (`zfs send -Rpv -- <snap>` works)", { expectFail: true });
    await rec('zfs-recv-x-failure.txt', ['zfs', 'recv', '-F', '-x', 'encryption', '--', `${pool}/subvol-107-disk-0`], "Proxmox volume_import argv: no -x on zfs-fuse (`zfs recv -F -- <target>` works)", {
      expectFail: true,
    });

    const version = (await runToolOk(['dpkg-query', '-W', '-f', '${Version}', 'zfs-fuse'])).stdout.trim();
    // The exact argv of the zfspool driver (src/ZfsCommands.ts), as its argv tests replay them.
    const VOLUME_PROPS = ['type', 'volsize', 'refquota', 'origin', 'creation', 'usedbydataset'];
    await rec('driver-get-d1-listing.txt', ZfsCommands.get(VOLUME_PROPS, [pool], { depth: 1 }), 'driver listVolumes: children of the pool dataset, one line per property');
    await rec('driver-get-volume-clone.txt', ZfsCommands.get(VOLUME_PROPS, [`${pool}/subvol-102-disk-0`]), 'driver volumeInfo of a linked clone');
    await rec('driver-get-snapshots.txt', ZfsCommands.get(['createtxg', 'creation'], [ds], { depth: 1 }), 'driver snapshotList: -d 1 includes the snapshots of the dataset');
    await rec('driver-get-missing.txt', ZfsCommands.get(['type'], [`${pool}/vm-999-disk-0`]), 'driver existence check', { expectFail: true });
    await rec('driver-get-pool-used-available.txt', ZfsCommands.get(['used', 'available'], [pool]), 'driver status');
    await rec('driver-probe-acltype-failure.txt', ZfsCommands.probeProperty('acltype', pool), 'zfs-fuse knows no acltype: subvols are created without Proxmox\'s ACL options', { expectFail: true });
    await rec('driver-destroy-missing.txt', ZfsCommands.destroy(`${pool}/vm-999-disk-0`, { recursive: true }), 'driver free of a missing volume', { expectFail: true });
    await rec('driver-create-zvol-failure.txt', ZfsCommands.createVolume(`${pool}/vm-105-disk-0`, { sizeBytes: 16 * 1024 * 1024, sparse: true }), 'zfs-fuse has no zvols (SIGABRT)', {
      expectFail: true,
    });
    await rec('driver-create-exists.txt', ZfsCommands.createFilesystem(ds, { refquotaBytes: 1024 * 1024 }), 'name taken', { expectFail: true });

    const rows = recorded.map((r) => `| \`${r.file}\` | \`${r.command.replaceAll('|', '\\|')}\` | ${r.exit} | ${r.note.replaceAll('|', '\\|')} |`);
    const readme = [
      '# Recorded zfs-fuse output',
      '',
      `Real output of \`zfs\` and \`zpool\` from **zfs-fuse ${version}** (Debian 12 package zfs-fuse, ZFS pool`,
      'version 23), recorded by `test/support/recordZfsFixtures.ts` on a 256 MiB file-backed pool named',
      '`corralfixture` (root dataset mounted at `<dir>/mnt`; mount points in the output name the',
      'temporary directory of that run). Re-record with',
      '`node packages/plugin-storage-zfs/dist/test/support/recordZfsFixtures.js` after a build.',
      'Files are the command\'s stdout; for failing commands stdout followed by stderr. Fields of',
      '`-H` output are separated by one TAB. With `-p`, `refquota` none prints `0` (without `-p`: `none`),',
      'and properties that do not apply print `-`.',
      '',
      'Datasets: `subvol-100-disk-0` (refquota 64 MiB, 1 MiB file, snapshot `snap1` with user property',
      '`pve-storage:refquota`, then one more 1 MiB file), `basevol-101-disk-0` (refquota 32 MiB, snapshot',
      '`__base__`), `subvol-102-disk-0` (clone of `basevol-101-disk-0@__base__`), `subvol-103-disk-0`',
      '(refquota none), `subvol-104-disk-0` (+ `@snap1`, received from `subvol-100-disk-0@snap1`).',
      '',
      '| file | command | exit | note |',
      '|---|---|---|---|',
      ...rows,
      '',
      '## Not recordable here',
      '',
      'zvols (`zfs create -V`, Proxmox `vm-<id>-disk-<n>` raw volumes, `/dev/zvol/<pool>/<name>`) cannot be',
      'created by zfs-fuse (see `zfs-create-zvol-failure.txt`), so `volsize` is always `-` here and no',
      'zvol listing, zvol `volsize` resize or zvol send stream can be recorded. The zvol argv tests',
      '(`test/zvolArgv.test.ts`) replay the files in `zvol/`: each names in its `#` header the recorded',
      'zfs-fuse file it is derived from and what was changed (the rows of a zvol, in the same format).',
      '',
    ].join('\n');
    await writeFile(join(outDir, 'README.md'), readme);
    return [...recorded.map((r) => r.file), 'README.md'];
  } finally {
    await tp.destroy();
    await rm(base, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // dist/test/support/ -> <package>/test/fixtures
  const outDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');
  const files = await recordZfsFixtures({ outDir });
  console.log(`wrote ${files.length} files to ${outDir}`);
}

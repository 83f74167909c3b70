/**
 * Records real lvm2 output into `test/fixtures/` from a throw-away VG named `corralfixture`
 * on a loop device (activation disabled: see LvmTestVg.ts), each file with a `# ` header
 * naming the tool version, the date, the command and its exit code. Run after a build (root,
 * Debian package lvm2):
 *
 * ```
 * node packages/plugin-storage-lvm/dist/test/support/recordLvmFixtures.js
 * ```
 *
 * The VG holds what a Proxmox node's VG holds: a thin pool `data` (written into the metadata
 * with vgcfgbackup/vgcfgrestore: lvm2 cannot create one without device-mapper), thin LVs
 * `vm-100-disk-0` with the thin snapshot `snap_vm-100-disk-0_s1`, the template
 * `base-101-disk-0` (read-only, activation skipped) and its linked clone `vm-102-disk-0`
 * (written the same way), and plain LVs `vm-110-disk-0` (tagged `pve-vm-110`) and `root`
 * (made by lvcreate for real).
 *
 * @packageDocumentation
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTool, runToolOk } from '@corral/core/testing';
import { LvmCommands } from '../../src/LvmCommands.js';
import { createLvmTestVg } from './LvmTestVg.js';
import { LVM_FIXTURE_DIR } from './lvmFixtures.js';

const MiB = 1024 * 1024;

/** Records every fixture into `outDir` (default: the package's test/fixtures). */
export async function recordLvmFixtures(outDir = LVM_FIXTURE_DIR): Promise<string[]> {
  const parent = await mkdtemp(join(tmpdir(), 'corral-lvmrec-'));
  const vg = await createLvmTestVg({ parent, name: 'corralfixture', sizeBytes: 256 * MiB });
  const version = (await runToolOk(['lvm', 'version'], { env: vg.env }).catch(() => ({ stdout: '' }))).stdout
    .split('\n')
    .find((l) => l.includes('LVM version'))
    ?.trim() ?? 'LVM version unknown';
  const pkg = (await runTool(['dpkg-query', '-W', '-f', '${Package} ${Version}', 'lvm2'])).stdout.trim();
  const written: string[] = [];
  const date = new Date().toISOString().slice(0, 10);
  /** Runs argv with the VG's env and writes stdout (`stream: 'stdout'`) or stderr to `file`. */
  const record = async (file: string, argv: readonly string[], stream: 'stdout' | 'stderr', note: string) => {
    const r = await runTool(argv, { env: vg.env });
    const header = [
      `# Recorded ${date} from the real lvm2 (${pkg}; ${version}) on Debian 12, kernel without device-mapper,`,
      '# activation disabled (private LVM_SYSTEM_DIR, see test/support/LvmTestVg.ts), VG corralfixture on a loop device.',
      `# Command: ${argv.join(' ')}`,
      `# Exit code: ${r.exitCode}; this file holds its ${stream}. ${note}`,
    ].join('\n');
    const body = stream === 'stdout' ? r.stdout : r.stderr;
    await writeFile(join(outDir, file), `${header}\n${body}`);
    written.push(file);
    return r;
  };
  try {
    await vg.addThinPool('data', 64 * MiB);
    const t0 = 1796600000;
    await vg.addThinLvs('data', [
      { name: 'vm-100-disk-0', sizeBytes: 8 * MiB, ctime: t0 },
      { name: 'snap_vm-100-disk-0_s1', sizeBytes: 8 * MiB, origin: 'vm-100-disk-0', readOnly: true, activationSkip: true, ctime: t0 + 60 },
      { name: 'base-101-disk-0', sizeBytes: 16 * MiB, readOnly: true, activationSkip: true, ctime: t0 + 120 },
      { name: 'vm-102-disk-0', sizeBytes: 16 * MiB, origin: 'base-101-disk-0', ctime: t0 + 180 },
    ]);
    await vg.lvm(LvmCommands.lvcreate('corralfixture', 'vm-110-disk-0', 8 * MiB, ['pve-vm-110']));
    await vg.lvm(['lvcreate', '-Wy', '--yes', '--size', '4m', '--name', 'root', 'corralfixture']);

    await record('lvs-corralfixture.json', LvmCommands.lvs('corralfixture'), 'stdout', 'Listing of the fixture VG (thin pool, thin LVs, snapshot, base, clone, plain LVs).');
    await record('vgs-corralfixture.json', LvmCommands.vgs('corralfixture'), 'stdout', 'VG size and free space.');
    await record('vgs-missing.txt', LvmCommands.vgs('novg'), 'stderr', 'A VG that does not exist.');
    await record('lvs-missing-vg.txt', LvmCommands.lvs('novg'), 'stderr', 'Listing of a VG that does not exist.');
    await record('lvcreate-plain.txt', LvmCommands.lvcreate('corralfixture', 'vm-111-disk-0', 4 * MiB, ['pve-vm-111']), 'stderr', 'A plain LV (success; warnings of the disabled activation only).');
    await record('lvcreate-exists.txt', LvmCommands.lvcreate('corralfixture', 'vm-110-disk-0', 4 * MiB, ['pve-vm-110']), 'stderr', 'Name taken.');
    await record('lvcreate-insufficient.txt', LvmCommands.lvcreate('corralfixture', 'vm-112-disk-0', 1024 * MiB, ['pve-vm-112']), 'stderr', 'More than the VG has free.');
    await record('lvextend-same-size.txt', LvmCommands.lvextend('corralfixture', 'vm-110-disk-0', 8 * MiB), 'stderr', 'Growing to the size it has.');
    await record('lvextend-smaller.txt', LvmCommands.lvextend('corralfixture', 'vm-110-disk-0', 4 * MiB), 'stderr', 'lvextend to a smaller size.');
    await record('lvremove-missing.txt', LvmCommands.lvremove('corralfixture', 'vm-999-disk-0'), 'stderr', 'An LV that does not exist.');
    await record('lvrename-missing.txt', LvmCommands.lvrename('corralfixture', 'vm-999-disk-0', 'del-vm-999-disk-0'), 'stderr', 'Renaming an LV that does not exist.');
    await record('lvcreate-thin-no-dm.txt', LvmCommands.lvcreateThin('corralfixture', 'data', 'vm-103-disk-0', 8 * MiB), 'stderr', 'lvmthin alloc_image: refused on a kernel without device-mapper.');
    await record('lvcreate-thin-pool-missing.txt', LvmCommands.lvcreateThin('corralfixture', 'nopool', 'vm-103-disk-0', 8 * MiB), 'stderr', 'A thin pool that does not exist.');
    await record('lvcreate-thin-snapshot-no-dm.txt', LvmCommands.thinSnapshot('corralfixture', 'vm-100-disk-0', 'snap_vm-100-disk-0_s2'), 'stderr', 'lvmthin volume_snapshot: refused without device-mapper.');
    await record('lvcreate-thin-clone-no-dm.txt', LvmCommands.thinClone('corralfixture', 'base-101-disk-0', 'vm-104-disk-0'), 'stderr', 'lvmthin clone_image: refused without device-mapper.');
    await record('lvchange-activate.txt', LvmCommands.activate('corralfixture', 'vm-110-disk-0', 'exclusive'), 'stderr', 'Activation with activation disabled: exit 0, no device node appears.');
    await record('lvchange-makebase.txt', LvmCommands.makeBase('corralfixture', 'vm-102-disk-0'), 'stderr', 'lvmthin create_base flags on a thin LV (real on metadata).');
    await record('lvs-after-makebase.json', LvmCommands.lvs('corralfixture'), 'stdout', 'Listing after lvchange -pr -ky of vm-102-disk-0 (attr Vri-...-k).');
    await record('lvremove-thin-no-dm.txt', LvmCommands.lvremove('corralfixture', 'snap_vm-100-disk-0_s1'), 'stderr', 'Removing a thin LV: lvm2 updates the metadata but cannot update the pool without device-mapper (exit 5).');
    return written;
  } finally {
    await vg.destroy();
    await rm(parent, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  recordLvmFixtures().then(
    (files) => console.log(`recorded ${files.length} fixtures:\n${files.join('\n')}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/**
 * Records real btrfs-progs output into `test/fixtures/` (the files the argv test parses), each
 * with a header naming the tool, its version, the command and the date. Run after a build, as
 * root (needs btrfs-progs and loop devices):
 *
 * ```
 * node packages/plugin-storage-btrfs/dist/test/support/recordBtrfsFixtures.js
 * ```
 *
 * On a fresh loop-mounted filesystem, a storage at `<mnt>/store` in Proxmox's layout: raw volume
 * `vm-100-disk-0` with a read-only snapshot `@s1` and a writable snapshot of it for guest 101
 * (`subvolume-list.txt`); then quotas on, a container subvolume limited to 8 MiB and filled
 * (`qgroup-show.txt`).
 *
 * @packageDocumentation
 */
import { open, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runToolOk } from '@corral/core/testing';
import { BtrfsCommands } from '../../src/BtrfsCommands.js';
import { createBtrfsTestFilesystem } from './BtrfsTestFilesystem.js';

async function record(outDir: string, file: string, argv: readonly string[], what: string, version: string): Promise<void> {
  const out = (await runToolOk(argv)).stdout;
  const shown = argv.map((a) => a.replace(/^\/.*\/mnt(?=\/|$)/, '<mnt>')).join(' ');
  const header = [`# Recorded from ${version} (Debian), \`${shown}\`, ${new Date().toISOString().slice(0, 10)},`, `# ${what}`];
  await writeFile(join(outDir, file), `${header.join('\n')}\n${out}`);
}

/** Records the fixtures into `outDir`. */
export async function recordBtrfsFixtures(outDir: string): Promise<void> {
  const version = (await runToolOk(['btrfs', '--version'])).stdout.trim().split('\n')[0]!;
  const fs = await createBtrfsTestFilesystem(512 * 1024 * 1024);
  try {
    const m = fs.mountPoint;
    const guest = join(m, 'store/images/100');
    await runToolOk(['mkdir', '-p', guest]);
    const vol = join(guest, 'vm-100-disk-0');
    await runToolOk(BtrfsCommands.subvolumeCreate(vol));
    await runToolOk(['truncate', '-s', '16M', join(vol, 'disk.raw')]);
    await runToolOk(BtrfsCommands.snapshot(vol, `${vol}@s1`, true));
    await runToolOk(BtrfsCommands.snapshot(vol, join(guest, 'vm-101-disk-0'), false));
    await record(outDir, 'subvolume-list.txt', BtrfsCommands.subvolumeList(m), 'a raw volume, its read-only snapshot @s1, and a writable snapshot of it (a clone) for guest 101.', version);

    await runToolOk(BtrfsCommands.quotaEnable(m));
    const sub = join(guest, 'subvol-100-disk-0.subvol');
    await runToolOk(BtrfsCommands.subvolumeCreate(sub));
    await runToolOk(BtrfsCommands.qgroupLimit(sub, 8 * 1024 * 1024));
    const fh = await open(join(sub, 'fill'), 'w');
    try {
      for (let i = 0; i < 16; i++) await fh.write(Buffer.alloc(1024 * 1024, 0x5a));
    } catch {
      // EDQUOT: the subvolume is full
    } finally {
      await fh.close();
    }
    await runToolOk(['sync', '-f', sub]);
    await record(outDir, 'qgroup-show.txt', BtrfsCommands.qgroupShow(m), 'after a qgroup limit of 8388608 bytes on the subvol and writing into it until EDQUOT.', version);
  } finally {
    await fs.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const here = dirname(fileURLToPath(import.meta.url));
  await recordBtrfsFixtures(resolve(here, '../../../test/fixtures'));
}

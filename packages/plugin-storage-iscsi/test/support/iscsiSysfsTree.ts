/**
 * A private sysfs and /dev tree shaped like the kernel's for logged-in iSCSI sessions, for
 * the `iscsi` type's device listing and checks: this kernel has no iscsi_tcp, so no session
 * can exist here and nothing can be recorded. The layout follows what the kernel exposes and
 * what Proxmox's ISCSIPlugin reads (class/iscsi_session/sessionN/{targetname,device},
 * bus/scsi/devices/H:C:T:L/{type,block/}, block/<dev>/{size,holders/},
 * devices/virtual/block/dm-N/slaves/, class/block/<dev> links, /dev/disk/by-id links
 * `../../<dev>`). The device nodes are REAL block devices: nodes made with mknod for loop
 * devices attached to files, so bytes read through them are real.
 *
 * @packageDocumentation
 */
import { mkdir, rm, symlink, writeFile, truncate } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { makeTempDir, runToolOk } from '@corral/core/testing';

/** Target names and volume names of the tree. */
export const TREE_TARGET = 'iqn.2003-01.org.linux-iscsi.pve:sn.00567885ba8f';
export const OTHER_TARGET = 'iqn.2003-01.org.example:other';
/** LUN 1: a plain disk `sdb`. */
export const VOL_DISK = '0.0.1.scsi-360000000000000000e00000000010001';
/** LUN 2: `sdc` under the multipath map `dm-0`. */
export const VOL_MPATH = '0.0.2.dm-uuid-mpath-360000000000000000e00000000010002';
/** LUN 1 of the other target (`sdd`). */
export const VOL_OTHER = '0.0.1.scsi-360000000000000000e00000000020001';

/** The tree: its roots, loop backing files, and cleanup. */
export interface IscsiSysfsTree {
  readonly sys: string;
  readonly dev: string;
  /** Backing file of a kernel device name (`sdb`, `dm-0`, `sdd`). */
  readonly files: Readonly<Record<string, string>>;
  /** Sizes in bytes by kernel device name. */
  readonly sizes: Readonly<Record<string, number>>;
  destroy(): Promise<void>;
}

async function file(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${text}\n`);
}

async function link(path: string, to: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await symlink(relative(dirname(path), to), path);
}

/** Builds the tree with loop devices for `sdb` (8 MiB), `dm-0` (4 MiB) and `sdd` (2 MiB). */
export async function createIscsiSysfsTree(): Promise<IscsiSysfsTree> {
  const root = await makeTempDir(undefined, 'corral-iscsi-sysfs-');
  const sys = join(root, 'sys');
  const dev = join(root, 'dev');
  const sizes: Record<string, number> = { sdb: 8 << 20, 'dm-0': 4 << 20, sdc: 4 << 20, sdd: 2 << 20 };
  const files: Record<string, string> = {};
  const loops: string[] = [];
  const destroy = async (): Promise<void> => {
    for (const l of loops) await runToolOk(['losetup', '-d', l]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const session = async (n: number, host: number, target: string, luns: Array<[lun: number, type: number, bdev?: string]>) => {
      const sdev = join(sys, 'devices', 'platform', `host${host}`, `session${n}`);
      await file(join(sys, 'class', 'iscsi_session', `session${n}`, 'targetname'), target);
      await link(join(sys, 'class', 'iscsi_session', `session${n}`, 'device'), sdev);
      for (const [lun, type, bdev] of luns) {
        const hctl = `${host}:0:0:${lun}`;
        const d = join(sdev, `target${host}:0:0`, hctl);
        await file(join(d, 'type'), String(type));
        await link(join(sys, 'bus', 'scsi', 'devices', hctl), d);
        if (!bdev) continue;
        await mkdir(join(d, 'block', bdev), { recursive: true });
        await link(join(sys, 'class', 'block', bdev), join(d, 'block', bdev));
        await file(join(sys, 'block', bdev, 'size'), String(sizes[bdev]! / 512));
        await mkdir(join(sys, 'block', bdev, 'holders'), { recursive: true });
      }
    };
    await session(1, 3, TREE_TARGET, [[0, 12], [1, 0, 'sdb'], [2, 0, 'sdc']]);
    await session(2, 4, OTHER_TARGET, [[1, 0, 'sdd']]);
    // sdc is a path of the multipath map dm-0.
    await mkdir(join(sys, 'block', 'sdc', 'holders', 'dm-0'), { recursive: true });
    await mkdir(join(sys, 'devices', 'virtual', 'block', 'dm-0', 'slaves', 'sdc'), { recursive: true });
    await link(join(sys, 'class', 'block', 'dm-0'), join(sys, 'devices', 'virtual', 'block', 'dm-0'));
    await file(join(sys, 'block', 'dm-0', 'size'), String(sizes['dm-0']! / 512));
    const byId = join(dev, 'disk', 'by-id');
    await link(join(byId, 'scsi-360000000000000000e00000000010001'), join(dev, 'sdb'));
    await link(join(byId, 'scsi-360000000000000000e00000000010001-part1'), join(dev, 'sdb1'));
    await link(join(byId, 'scsi-360000000000000000e00000000010002'), join(dev, 'sdc'));
    await link(join(byId, 'dm-uuid-mpath-360000000000000000e00000000010002'), join(dev, 'dm-0'));
    await link(join(byId, 'scsi-360000000000000000e00000000020001'), join(dev, 'sdd'));
    await link(join(byId, 'wwn-0x60000000000000000e00000000010001'), join(dev, 'sdb'));
    for (const bdev of ['sdb', 'dm-0', 'sdd']) {
      const f = join(root, `${bdev}.img`);
      await writeFile(f, '');
      await truncate(f, sizes[bdev]!);
      files[bdev] = f;
      const loop = (await runToolOk(['losetup', '--find', '--show', f])).stdout.trim();
      loops.push(loop);
      const [major, minor] = (await runToolOk(['stat', '-c', '%t %T', loop])).stdout.trim().split(' ').map((h) => String(parseInt(h, 16)));
      await runToolOk(['mknod', join(dev, bdev), 'b', major!, minor!]);
    }
    // sdc exists as a node too (a plain file is enough: it is reached through dm-0).
    await writeFile(join(dev, 'sdc'), '');
  } catch (err) {
    await destroy();
    throw err;
  }
  return { sys, dev, files, sizes, destroy };
}

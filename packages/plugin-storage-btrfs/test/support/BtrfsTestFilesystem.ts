/**
 * A private btrfs filesystem for tests: a sparse image file in a private temp dir, `mkfs.btrfs`,
 * `mount -o loop` (the loop device is detached again by `umount`, autoclear). Real; needs root,
 * btrfs-progs and /dev/loop-control.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasProgram, makeTempDir, runTool, runToolOk } from '@corral/core/testing';

/** Programs the real tests need (Debian packages btrfs-progs, mount, e2fsprogs, tar). */
export const BTRFS_TEST_PROGRAMS = ['mkfs.btrfs', 'btrfs', 'mount', 'umount', 'chattr', 'tar'] as const;

/** Why the real tests cannot run here, or undefined when they can. */
export function btrfsTestsUnavailable(): string | undefined {
  const missing = BTRFS_TEST_PROGRAMS.filter((p) => !hasProgram(p));
  return missing.length > 0 ? `${missing.join(', ')} not installed (Debian packages btrfs-progs, e2fsprogs, tar)` : undefined;
}

/** A mounted test filesystem. */
export interface BtrfsTestFilesystem {
  /** The mount point. */
  readonly mountPoint: string;
  /** Unmounts (detaching the loop device) and removes the image and the temp dir. */
  destroy(): Promise<void>;
}

/** Makes and mounts a btrfs filesystem of `sizeBytes` (sparse) in a private temp dir. */
export async function createBtrfsTestFilesystem(sizeBytes = 1024 * 1024 * 1024): Promise<BtrfsTestFilesystem> {
  const dir = await makeTempDir(undefined, 'corral-btrfs-');
  const image = join(dir, 'btrfs.img');
  const mountPoint = join(dir, 'mnt');
  let mounted = false;
  const destroy = async () => {
    if (mounted) {
      const r = await runTool(['umount', mountPoint]);
      if (r.exitCode !== 0) await runTool(['umount', '-l', mountPoint]);
      mounted = false;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await runToolOk(['truncate', '-s', String(sizeBytes), image]);
    await runToolOk(['mkfs.btrfs', '-q', image]);
    await mkdir(mountPoint);
    await runToolOk(['mount', '-o', 'loop', image, mountPoint]);
    mounted = true;
  } catch (err) {
    await destroy();
    throw err;
  }
  return { mountPoint, destroy };
}

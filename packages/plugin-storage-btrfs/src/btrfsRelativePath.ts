import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { readMountInfo, type MountInfoEntry } from '@corral/core';

/**
 * The path of directory `path` inside its btrfs filesystem, relative to the top-level
 * subvolume, as `btrfs subvolume list` prints paths (`store/images`; `''` for the top level).
 * Found from the innermost mount holding `path` (the last one mounted there) and that mount's
 * root inside the filesystem (`/` or `/@subvol` for a subvolume mount). Undefined when `path`
 * is not on btrfs.
 */
export async function btrfsRelativePath(path: string): Promise<string | undefined> {
  const real = await realpath(path);
  const mounts = await readMountInfo();
  let best: MountInfoEntry | undefined;
  for (const m of mounts) {
    const inside = real === m.mountPoint || m.mountPoint === '/' || real.startsWith(m.mountPoint + sep);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  if (!best || best.fsType !== 'btrfs') return undefined;
  const below = relative(best.mountPoint, real);
  return [best.root.replace(/^\/+/, ''), below].filter((s) => s !== '').join('/');
}

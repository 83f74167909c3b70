/**
 * What an unprivileged container's root (a host uid with no rights of its own) needs on the
 * host side: a path to its rootfs it may pass through, and new volumes it owns.
 *
 * @packageDocumentation
 */
import { chown, readdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnavailableError } from '@corral/core';

/**
 * Every directory above the rootfs must let the container's root (a host uid without rights
 * of its own) pass, or LXC fails with "Permission denied - Could not access ...".
 *
 * @throws UnavailableError naming the directory.
 */
export async function checkSearchable(rootfsPath: string, owner: { uid: number; gid: number }): Promise<void> {
  let dir = dirname(rootfsPath);
  for (;;) {
    const st = await stat(dir);
    const ok = st.uid === owner.uid ? (st.mode & 0o100) !== 0 : st.gid === owner.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!ok) {
      throw new UnavailableError(
        'rootfs',
        `the container's root (host uid ${owner.uid}) cannot reach its rootfs ${rootfsPath}: directory '${dir}' is not searchable by others (chmod o+x '${dir}')`,
      );
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * A new mount-point volume is an empty directory owned by the host's root, which an
 * unprivileged container's root cannot write: hand it over (as pve-container does for new
 * volumes). Volumes with content are left alone.
 */
export async function giveEmptyVolumeToContainerRoot(path: string, owner: { uid: number; gid: number }): Promise<void> {
  const st = await stat(path);
  if (st.uid !== 0 || st.gid !== 0 || (owner.uid === 0 && owner.gid === 0)) return;
  if ((await readdir(path)).length > 0) return;
  await chown(path, owner.uid, owner.gid);
}

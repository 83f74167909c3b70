/**
 * Shifts the owners of a freshly extracted rootfs into a user namespace's host range
 * (uid 0 → 100000 and so on), as pve-container does for unprivileged containers.
 *
 * @packageDocumentation
 */
import { lchown, lstat, chmod, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { mapIdToHost, type IdMapEntry } from '../config/idmap.js';

/** Figures of one {@link shiftOwnership} run. */
export interface ShiftResult {
  /** Entries whose owner changed. */
  readonly changed: number;
  /** Entries whose uid or gid the map does not cover (given `nobody`: 65534 mapped, or left as they are). */
  readonly unmapped: number;
}

/**
 * Walks `root` (without following symlinks or crossing into other file systems) and maps every
 * owner through `idmap`. Hard links are shifted once. `chown` clears set-uid/set-gid bits, so
 * they are restored afterwards. Ids the map does not cover become the container's `nobody`
 * (65534) when that is mapped.
 *
 * Run it only on a tree no container is using. File capabilities (`security.capability`) and
 * ACLs keep their old ids (a known gap).
 */
export async function shiftOwnership(root: string, idmap: readonly IdMapEntry[]): Promise<ShiftResult> {
  const seen = new Set<string>();
  let changed = 0;
  let unmapped = 0;
  const rootStat = await lstat(root);
  const nobodyUid = mapIdToHost(idmap, 'u', 65534);
  const nobodyGid = mapIdToHost(idmap, 'g', 65534);

  const shift = async (path: string): Promise<boolean> => {
    const st = await lstat(path);
    if (st.nlink > 1 && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) return false;
      seen.add(id);
    }
    let uid = mapIdToHost(idmap, 'u', st.uid);
    let gid = mapIdToHost(idmap, 'g', st.gid);
    if (uid === undefined || gid === undefined) unmapped++;
    uid ??= nobodyUid ?? st.uid;
    gid ??= nobodyGid ?? st.gid;
    if (uid !== st.uid || gid !== st.gid) {
      await lchown(path, uid, gid);
      changed++;
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await chmod(path, st.mode & 0o7777);
    }
    return st.isDirectory() && st.dev === rootStat.dev;
  };

  const walk = async (dir: string): Promise<void> => {
    const handle = await opendir(dir);
    const subdirs: string[] = [];
    for await (const entry of handle) {
      const path = join(dir, entry.name);
      if (await shift(path)) subdirs.push(path);
    }
    for (const sub of subdirs) await walk(sub);
  };

  await shift(root);
  await walk(root);
  return { changed, unmapped };
}

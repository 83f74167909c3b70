/**
 * The mount table of this mount namespace, as storage drivers need it (is a path mounted,
 * which filesystem holds it).
 *
 * @packageDocumentation
 */
import { readFile, realpath } from 'node:fs/promises';

/** One line of /proc/self/mountinfo. */
export interface MountInfoEntry {
  /** The path inside the mounted filesystem that is mounted (`/`, or `/@subvol` for a btrfs subvolume). */
  readonly root: string;
  /** Where it is mounted. */
  readonly mountPoint: string;
  /** Filesystem type (`btrfs`, `nfs4`...). */
  readonly fsType: string;
  /** The mounted source (`/dev/loop0`, `server:/export`). */
  readonly source: string;
}

/** Decodes the octal escapes of /proc/mounts and /proc/self/mountinfo fields (`\040` is a space). */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Parses /proc/self/mountinfo text (fields: id parent dev root mountpoint options [optional
 * fields] - fstype source superoptions). Lines without the `-` separator are skipped.
 */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 5 || dash < 0) continue;
    out.push({ root: unescapeMountField(f[3]!), mountPoint: unescapeMountField(f[4]!), fsType: f[dash + 1] ?? '', source: unescapeMountField(f[dash + 2] ?? '') });
  }
  return out;
}

/** Reads and parses /proc/self/mountinfo. */
export async function readMountInfo(): Promise<MountInfoEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** True when `path` (after resolving symlinks) is a mount point in this mount namespace; false for a missing path. */
export async function isMountpoint(path: string): Promise<boolean> {
  const real = await realpath(path).catch(() => undefined);
  if (!real) return false;
  return (await readMountInfo()).some((m) => m.mountPoint === real);
}

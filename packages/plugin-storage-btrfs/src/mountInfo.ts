import { readFile, realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';

/** One line of /proc/self/mountinfo: the filesystem path mounted (`root`) and where (`mountPoint`). */
interface MountEntry {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
}

/** Decodes the octal escapes of /proc/self/mountinfo (`\040` is a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text (fields: id parent dev root mountpoint opts ... - fstype source). */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 5 || dash < 0) continue;
    out.push({ root: unescapeMount(f[3]!), mountPoint: unescapeMount(f[4]!), fsType: f[dash + 1] ?? '' });
  }
  return out;
}

/** True when `path` (after resolving symlinks) is a mount point in this mount namespace. */
export async function isMountpoint(path: string): Promise<boolean> {
  const real = await realpath(path).catch(() => undefined);
  if (!real) return false;
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).some((m) => m.mountPoint === real);
}

/**
 * The path of directory `path` inside its btrfs filesystem, relative to the top-level
 * subvolume, as `btrfs subvolume list` prints paths (`store/images`; `''` for the top level).
 * Found from the innermost mount holding `path` (the last one mounted there) and that mount's
 * root inside the filesystem (`/` or `/@subvol` for a subvolume mount). Undefined when `path`
 * is not on btrfs.
 */
export async function btrfsRelativePath(path: string): Promise<string | undefined> {
  const real = await realpath(path);
  const mounts = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const inside = real === m.mountPoint || m.mountPoint === '/' || real.startsWith(m.mountPoint + sep);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  if (!best || best.fsType !== 'btrfs') return undefined;
  const below = relative(best.mountPoint, real);
  return [best.root.replace(/^\/+/, ''), below].filter((s) => s !== '').join('/');
}

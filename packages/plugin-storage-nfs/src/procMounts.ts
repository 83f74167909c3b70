import { readFile } from 'node:fs/promises';

/** One line of /proc/mounts: source, mount point, filesystem type (octal escapes decoded). */
export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly fstype: string;
}

/** Decodes the octal escapes of /proc/mounts (`\040` is a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses the text of /proc/mounts (blank and short lines are skipped). */
export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    out.push({
      source: unescapeMount(f[0]!),
      target: unescapeMount(f[1]!),
      fstype: f[2]!,
    });
  }
  return out;
}

/** Reads and parses /proc/mounts (the file name is a parameter for tests). */
export async function readProcMounts(file = '/proc/mounts'): Promise<MountEntry[]> {
  return parseProcMounts(await readFile(file, 'utf8'));
}

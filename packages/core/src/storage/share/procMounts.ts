import { readFile } from 'node:fs/promises';
import { unescapeMountField } from '../../node/mountInfo.js';

/** One line of /proc/mounts: source, mount point, filesystem type (octal escapes decoded). */
export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly fstype: string;
}

/** Parses the text of /proc/mounts (blank and short lines are skipped). */
export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    out.push({
      source: unescapeMountField(f[0]!),
      target: unescapeMountField(f[1]!),
      fstype: f[2]!,
    });
  }
  return out;
}

/** Reads and parses /proc/mounts (the file name is a parameter for tests). */
export async function readProcMounts(file = '/proc/mounts'): Promise<MountEntry[]> {
  return parseProcMounts(await readFile(file, 'utf8'));
}

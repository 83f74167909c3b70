import { readFile, realpath } from 'node:fs/promises';

/** Decodes the octal escapes of /proc/self/mountinfo (`\040` is a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** True when `path` (after resolving symlinks) is a mount point in this mount namespace. */
export async function isMountpoint(path: string): Promise<boolean> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return false;
  }
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => {
    const field = line.split(' ')[4];
    return field !== undefined && unescapeMount(field) === real;
  });
}

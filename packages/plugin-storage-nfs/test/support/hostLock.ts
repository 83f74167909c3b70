import { open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes a host-wide lock between test processes (ava runs test files in parallel): the file
 * `<tmpdir>/corral-test-<name>.lock` created exclusively with this process's pid. A lock whose
 * holder is gone is taken over. Waits (polling every 200 ms) while another live process holds
 * it. Returns the release function.
 */
export async function acquireHostLock(name: string): Promise<() => Promise<void>> {
  const path = join(tmpdir(), `corral-test-${name}.lock`);
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (holder > 0 && !alive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Teardown of the quick start test: whatever happened (a failed assertion, a boot that never
 * came, a kernel that could not open), no guest the test started keeps running.
 *
 * @packageDocumentation
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kernel } from '@corral/core';

/** True when `pid` is alive (not a zombie) and its command line contains `marker`. */
async function runsWith(pid: number, marker: string): Promise<boolean> {
  try {
    const [cmdline, stat] = await Promise.all([readFile(`/proc/${pid}/cmdline`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
    return cmdline.split('\0').some((a) => a.includes(marker)) && !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

async function alive(pid: number): Promise<boolean> {
  try {
    return !/\) [ZX] /.test(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!(await alive(pid))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !(await alive(pid));
}

/**
 * Stops every guest of `vmids` that still runs: first through `openKernel()` (a fresh kernel on
 * the test's directories, so taps, cgroups and volume activations are released too), then by
 * pid with SIGKILL for what is still alive: each pid that kernel reported, and every QEMU whose
 * pid file is in `<runDir>/qemu/<vmid>/qemu.pid` (checked against its command line, so a
 * recycled pid is never killed). Never throws.
 *
 * @returns the pids that had to be killed.
 */
export async function stopDemoGuests(options: { runDir: string; vmids: readonly number[]; openKernel: () => Promise<Kernel> }): Promise<number[]> {
  const reported: number[] = [];
  const kernel = await options.openKernel().catch(() => undefined);
  if (kernel) {
    for (const vmid of options.vmids) {
      const status = await kernel.guests.status(vmid).catch(() => undefined);
      if (!status || status.state === 'stopped') continue;
      if (status.pid) reported.push(status.pid);
      if ((await kernel.guests.config(vmid).catch(() => undefined))?.config.lock) await kernel.guests.unlock(vmid).catch(() => undefined);
      await kernel.guests.stop(vmid, { timeoutMs: 10_000 }).catch(() => undefined);
    }
    await kernel.dispose().catch(() => undefined);
  }
  const killed: number[] = [];
  const kill = async (pid: number): Promise<void> => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    killed.push(pid);
    await waitGone(pid, 5_000);
  };
  for (const pid of reported) if (await alive(pid)) await kill(pid);
  for (const dir of await readdir(join(options.runDir, 'qemu')).catch(() => [] as string[])) {
    const pidFile = join(options.runDir, 'qemu', dir, 'qemu.pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 1 && (await runsWith(pid, pidFile))) await kill(pid);
  }
  return killed;
}

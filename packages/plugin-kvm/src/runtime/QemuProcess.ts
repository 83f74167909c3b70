/**
 * The QEMU process of a VM as the host sees it: found through the pid file in the VM's run
 * directory and /proc, so that any kernel (also a new one after a restart) finds the VMs that
 * kept running. QEMU runs daemonized (reparented to PID 1), so it outlives the kernel process.
 *
 * Zombie-aware: after QEMU exits, its pid stays in /proc as a zombie until PID 1 reaps it
 * (about a second on these hosts); a zombie counts as gone.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { TimeoutError } from '@corral/core';

/** Linux's USER_HZ (the unit of /proc/<pid>/stat times); 100 on every architecture Corral runs on. */
const CLOCK_TICKS = 100;

/** What /proc says about a process. Times in seconds, sizes in bytes. */
export interface ProcStat {
  readonly pid: number;
  /** Process state letter (`R`, `S`, `D`, `Z`...). */
  readonly state: string;
  /** CPU time used (user + system). */
  readonly cpuSeconds: number;
  /** Seconds since the process started. */
  readonly uptimeSec: number;
  /** Resident set size. */
  readonly rssBytes: number;
}

/** Reads /proc/<pid>/stat; undefined when there is no such process. */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0]!;
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const starttime = Number(fields[19]);
  const rssPages = Number(fields[21]);
  const uptime = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  return {
    pid,
    state,
    cpuSeconds: (utime + stime) / CLOCK_TICKS,
    uptimeSec: Math.max(0, Math.round(uptime - starttime / CLOCK_TICKS)),
    rssBytes: rssPages * 4096,
  };
}

/** True when `pid` is a live (not zombie) process whose command line has `-pidfile <pidFile>`. */
export async function isQemuOf(pid: number, pidFile: string): Promise<boolean> {
  let cmdline: string;
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  const argv = cmdline.split('\0');
  const i = argv.indexOf('-pidfile');
  if (i < 0 || argv[i + 1] !== pidFile) return false;
  const stat = await readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * The pid of the VM's running QEMU, or undefined when it does not run: the pid file is
 * missing, names no process, names a zombie, or names a process that is not this VM's QEMU
 * (a recycled pid). Cheap: two small file reads when stopped.
 */
export async function findQemuPid(pidFile: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return (await isQemuOf(pid, pidFile)) ? pid : undefined;
}

/**
 * Waits until process `pid` is gone or a zombie, polling /proc every `pollMs` (default 50).
 *
 * @throws TimeoutError after `timeoutMs` (`what` names the VM in the message).
 */
export async function waitForExit(pid: number, options: { timeoutMs: number; what: string; pollMs?: number; pidFile?: string }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const alive = options.pidFile ? await isQemuOf(pid, options.pidFile) : isLive(await readProcStat(pid));
    if (!alive) return;
    if (Date.now() >= deadline) throw new TimeoutError(options.what, options.timeoutMs);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 50));
  }
}

function isLive(stat: ProcStat | undefined): boolean {
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Sends `signal` to `pid`; false when the process is gone already. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

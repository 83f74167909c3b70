/**
 * The few `/proc` reads the LXC driver makes instead of spawning `lxc-info`: whether a
 * process still lives (and is the same process, by start time), its children, the uptime.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ: 100 on every Linux architecture Corral runs on). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The fields of `/proc/<pid>/stat` the driver uses. */
export interface ProcStat {
  readonly pid: number;
  /** One-letter state (`R`, `S`, `Z`...). */
  readonly state: string;
  readonly ppid: number;
  /** Start time after boot, in clock ticks (field 22). */
  readonly startTicks: number;
}

/** Reads `/proc/<pid>/stat`; `undefined` when there is no such process. */
export async function readProcStat(pid: number, proc = '/proc'): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(join(proc, String(pid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')'.
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { pid, state: rest[0]!, ppid: Number(rest[1]), startTicks: Number(rest[19]) };
}

/**
 * True when `pid` is a live (non-zombie) process started at `startTicks` (guards against a
 * recycled pid).
 */
export async function isSameProcess(pid: number, startTicks: number, proc = '/proc'): Promise<boolean> {
  const stat = await readProcStat(pid, proc);
  return stat !== undefined && stat.startTicks === startTicks && stat.state !== 'Z' && stat.state !== 'X';
}

/** Child pids of `pid` (`/proc/<pid>/task/<pid>/children`); empty when unknown. */
export async function childPids(pid: number, proc = '/proc'): Promise<number[]> {
  try {
    const text = await readFile(join(proc, String(pid), 'task', String(pid), 'children'), 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The command line of `pid` with NULs as spaces; `undefined` when there is no such process. */
export async function readCmdline(pid: number, proc = '/proc'): Promise<string | undefined> {
  try {
    return (await readFile(join(proc, String(pid), 'cmdline'), 'utf8')).replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** Seconds since boot (`/proc/uptime`). */
export async function systemUptimeSeconds(proc = '/proc'): Promise<number> {
  const text = await readFile(join(proc, 'uptime'), 'utf8');
  return Number(text.split(' ')[0]);
}

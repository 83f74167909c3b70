import { readFileSync } from 'node:fs';

/**
 * Who a process is, independent of any clock: this boot of the host (`/proc/sys/kernel/random/boot_id`)
 * and the process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), so a
 * pid reused by a later process does not pass for the first one.
 */
export interface ProcessIdentity {
  readonly boot: string;
  readonly pid: number;
  readonly started: string;
}

let cachedBootId: string | undefined;

/** This host's boot id (a new one after every reboot). */
export function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  return cachedBootId;
}

/** Start time of process `pid` in clock ticks since boot; undefined when there is no such process. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The identity of this process. */
export function ownProcessIdentity(): ProcessIdentity {
  return { boot: bootId(), pid: process.pid, started: processStartTicks(process.pid) ?? '' };
}

/**
 * Whether the process `identity` names is still running: `true`/`false` for a process of this
 * boot of this host, `undefined` for one of another host or boot (this host cannot tell).
 */
export function isProcessRunning(identity: Partial<ProcessIdentity>): boolean | undefined {
  if (identity.boot !== bootId() || typeof identity.pid !== 'number') return undefined;
  return processStartTicks(identity.pid) === identity.started;
}

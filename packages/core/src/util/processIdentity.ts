import { readFileSync } from 'node:fs';
import { processStartTicks } from '../tasks/Upid.js';

/**
 * Who a process is, independent of any clock: this boot of the host (`/proc/sys/kernel/random/boot_id`)
 * and the process's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22, as
 * `processStartTicks` reads it, in decimal), so a pid reused by a later process does not pass
 * for the first one.
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

/** The identity of this process. */
export function ownProcessIdentity(): ProcessIdentity {
  return { boot: bootId(), pid: process.pid, started: String(processStartTicks(process.pid) ?? '') };
}

/**
 * Whether the process `identity` names is still running: `true`/`false` for a process of this
 * boot of this host, `undefined` for one of another host or boot, or a record without a pid
 * and start time (this host cannot tell). Accepts any parsed JSON (`null` included).
 */
export function isProcessRunning(identity: Partial<ProcessIdentity> | null | undefined): boolean | undefined {
  if (identity?.boot !== bootId() || typeof identity.pid !== 'number' || typeof identity.started !== 'string') return undefined;
  const started = processStartTicks(identity.pid);
  return started !== null && String(started) === identity.started;
}

/**
 * UPIDs, Proxmox's unique task ids:
 * `UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{type}:{id}:{user}:`
 * (pve-common `PVE::Tools::upid_encode` / `upid_decode`). pid is the worker's process id,
 * pstart its start time in clock ticks since boot (`/proc/<pid>/stat` field 22, which may
 * take 9 hex digits), starttime the task's start in seconds since the epoch.
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';

/** The fields of a UPID. */
export interface UpidFields {
  /** Node name (a hostname: letters, digits, inner dashes). */
  readonly node: string;
  readonly pid: number;
  /** Process start, clock ticks since boot. */
  readonly pstart: number;
  /** Task start, seconds since the epoch. */
  readonly starttime: number;
  /** Task type (`qmstart`, `vzcreate`, `imgcopy`...). */
  readonly type: string;
  /** Object id (a vmid, a storage id) or `''`. */
  readonly id: string;
  /** User that started the task (`root@pam`). */
  readonly user: string;
}

const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
// The regex of upid_decode (pve-common), pstart allowed 8 or 9 hex digits.
const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

function hex(value: number, argument: string, maxDigits: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 16 ** maxDigits) {
    throw new InvalidArgumentError(argument, `UPID ${argument} must be an integer from 0 to ${16 ** maxDigits - 1}, got ${String(value)}`);
  }
  return value.toString(16).toUpperCase().padStart(8, '0');
}

function field(value: string, argument: string, allowEmpty: boolean): string {
  if (typeof value !== 'string' || (!allowEmpty && value === '') || /[:\s]/.test(value)) {
    throw new InvalidArgumentError(
      argument,
      `UPID ${argument} must be ${allowEmpty ? 'a' : 'a non-empty'} string without ':' or whitespace, got '${String(value)}'`,
    );
  }
  return value;
}

/**
 * Encodes a UPID (always decodable by {@link parseUpid} and by Proxmox).
 * @throws InvalidArgumentError naming the field that cannot be encoded.
 */
export function encodeUpid(fields: UpidFields): string {
  if (typeof fields.node !== 'string' || !NODE_RE.test(fields.node)) {
    throw new InvalidArgumentError('node', `UPID node must be a hostname (letters, digits, inner '-'), got '${String(fields.node)}'`);
  }
  return [
    'UPID',
    fields.node,
    hex(fields.pid, 'pid', 8),
    hex(fields.pstart, 'pstart', 9),
    hex(fields.starttime, 'starttime', 8),
    field(fields.type, 'type', false),
    field(fields.id, 'id', true),
    field(fields.user, 'user', false),
    '',
  ].join(':');
}

/**
 * Decodes a UPID.
 * @throws InvalidArgumentError (`upid`) when the text is not a UPID.
 */
export function parseUpid(upid: string): UpidFields {
  const m = typeof upid === 'string' ? UPID_RE.exec(upid) : null;
  if (!m) throw new InvalidArgumentError('upid', `unable to parse worker upid '${String(upid)}'`);
  return {
    node: m[1]!,
    pid: parseInt(m[2]!, 16),
    pstart: parseInt(m[3]!, 16),
    starttime: parseInt(m[4]!, 16),
    type: m[5]!,
    id: m[6]!,
    user: m[7]!,
  };
}

/** True when `text` is a well-formed UPID. */
export function isUpid(text: string): boolean {
  return typeof text === 'string' && UPID_RE.test(text);
}

/**
 * The subdirectory of a task's log file, as Proxmox's task dir: the last hex digit of the
 * starttime field (`/var/log/pve/tasks/<X>/<UPID>`), spreading logs over 16 directories.
 */
export function upidLogSubdir(upid: string): string {
  if (!isUpid(upid)) throw new InvalidArgumentError('upid', `unable to parse worker upid '${String(upid)}'`);
  const parts = upid.split(':');
  return parts[4]!.slice(7, 8);
}

/**
 * Start time of process `pid` in clock ticks since boot (`/proc/<pid>/stat` field 22), or
 * null when the process does not exist. With pid and pstart, a process is identified even
 * after its pid is reused.
 */
export function processStartTicks(pid: number = process.pid): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 (comm) is in parentheses and may contain spaces: count from the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[22 - 3]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

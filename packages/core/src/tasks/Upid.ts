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
import { excerpt } from '../formats/configText.js';
import { checkUserid } from './checkUserid.js';

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
  /** User that started the task: a Proxmox user id (`root@pam`) or API token (`root@pam!ci`). */
  readonly user: string;
}

const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const HEX_RE = /^[0-9A-Fa-f]+$/;
const WHITESPACE_RE = /\s/;

/**
 * The fields of a UPID as upid_decode (pve-common) reads them, pstart allowed 8 or 9 hex
 * digits; `null` when it is not one. Split on `:` (no field holds one), then each part checked.
 */
function splitUpid(upid: unknown): string[] | null {
  if (typeof upid !== 'string' || upid.length > 1024) return null;
  const p = upid.split(':');
  if (p.length !== 9 || p[0] !== 'UPID' || p[8] !== '' || !NODE_RE.test(p[1]!)) return null;
  if (p[2]!.length !== 8 || (p[3]!.length !== 8 && p[3]!.length !== 9) || p[4]!.length !== 8) return null;
  if (!HEX_RE.test(p[2]!) || !HEX_RE.test(p[3]!) || !HEX_RE.test(p[4]!)) return null;
  if (p[5] === '' || p[7] === '' || WHITESPACE_RE.test(p[5]!) || WHITESPACE_RE.test(p[6]!) || WHITESPACE_RE.test(p[7]!)) return null;
  return p;
}

function hex(value: number, argument: string, maxDigits: number): string {
  if (!Number.isSafeInteger(value) || value < 0 || value >= 16 ** maxDigits) {
    throw new InvalidArgumentError(argument, `UPID ${argument} must be an integer from 0 to ${16 ** maxDigits - 1}, got ${String(value)}`);
  }
  return value.toString(16).toUpperCase().padStart(8, '0');
}

function field(value: string, argument: string, allowEmpty: boolean): string {
  // A UPID is also a file name (the task log): no '/' and no control characters either.
  if (typeof value !== 'string' || (!allowEmpty && value === '') || /[:\s/\p{Cc}]/u.test(value)) {
    throw new InvalidArgumentError(
      argument,
      `UPID ${argument} must be ${allowEmpty ? 'a' : 'a non-empty'} string without ':', '/', white space or control characters, got '${excerpt(String(value))}'`,
    );
  }
  return value;
}

/**
 * Encodes a UPID (always decodable by {@link parseUpid} and by Proxmox). The user must be a
 * Proxmox user id or API token (see `checkUserid`); type and id may not hold `:`, `/`, white
 * space or control characters, so a UPID is always a plain file name.
 * @throws InvalidArgumentError naming the field that cannot be encoded.
 */
export function encodeUpid(fields: UpidFields): string {
  if (typeof fields.node !== 'string' || !NODE_RE.test(fields.node)) {
    throw new InvalidArgumentError('node', `UPID node must be a hostname (letters, digits, inner '-'), got '${String(fields.node)}'`);
  }
  checkUserid(fields.user);
  return [
    'UPID',
    fields.node,
    hex(fields.pid, 'pid', 8),
    hex(fields.pstart, 'pstart', 9),
    hex(fields.starttime, 'starttime', 8),
    field(fields.type, 'type', false),
    field(fields.id, 'id', true),
    fields.user,
    '',
  ].join(':');
}

/**
 * Decodes a UPID.
 * @throws InvalidArgumentError (`upid`) when the text is not a UPID.
 */
export function parseUpid(upid: string): UpidFields {
  const p = splitUpid(upid);
  if (!p) throw new InvalidArgumentError('upid', `unable to parse worker upid '${excerpt(String(upid))}'`);
  return {
    node: p[1]!,
    pid: parseInt(p[2]!, 16),
    pstart: parseInt(p[3]!, 16),
    starttime: parseInt(p[4]!, 16),
    type: p[5]!,
    id: p[6]!,
    user: p[7]!,
  };
}

/** True when `text` is a well-formed UPID. */
export function isUpid(text: string): boolean {
  return splitUpid(text) !== null;
}

/**
 * Checks that a UPID can name a file: no `/` and no control character in any field (Proxmox's
 * decoder accepts them in type, id and user; a UPID from an index file or a caller could
 * carry them).
 * @throws InvalidArgumentError (`upid`) otherwise, or when it is not a UPID.
 */
export function checkUpidFileName(upid: string): void {
  if (!isUpid(upid)) throw new InvalidArgumentError('upid', `unable to parse worker upid '${excerpt(String(upid))}'`);
  if (/[/\p{Cc}]/u.test(upid)) {
    throw new InvalidArgumentError('upid', `UPID '${excerpt(upid)}' cannot name a task log: it holds '/' or a control character`);
  }
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

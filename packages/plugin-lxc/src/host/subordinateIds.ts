/**
 * Whether the host lets root use an id map. When shadow's `newuidmap`/`newgidmap` (Debian
 * package uidmap) are installed, LXC maps ids through them even as root, and they refuse any
 * range `/etc/subuid` / `/etc/subgid` do not give to root; Proxmox VE hosts carry
 * `root:100000:65536` in both files for that reason.
 *
 * @packageDocumentation
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UnavailableError } from '@corral/core';
import type { IdMapEntry } from '../config/idmap.js';

/** Where the check looks. */
export interface SubordinateIdFiles {
  readonly subuid?: string;
  readonly subgid?: string;
  /** PATH searched for newuidmap (default: the process's PATH). */
  readonly path?: string;
}

function onPath(program: string, path: string): boolean {
  return path.split(delimiter).some((d) => {
    try {
      accessSync(join(d, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Ranges a subordinate-id file gives to root (`root:start:count` or `0:start:count` lines). */
export function rootRanges(text: string): Array<{ start: number; count: number }> {
  const out: Array<{ start: number; count: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^(root|0):(\d+):(\d+)\s*$/.exec(line.trim());
    if (m) out.push({ start: Number(m[2]), count: Number(m[3]) });
  }
  return out;
}

/**
 * Checks that LXC can apply `idmap` on this host.
 *
 * @throws UnavailableError (component `subuid`) naming the line to add when newuidmap is
 *   installed and a range of the map is not given to root.
 */
export function checkSubordinateIds(idmap: readonly IdMapEntry[], files: SubordinateIdFiles = {}): void {
  if (idmap.length === 0) return;
  const path = files.path ?? process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';
  if (!onPath('newuidmap', path) || !onPath('newgidmap', path)) return;
  for (const type of ['u', 'g'] as const) {
    const file = type === 'u' ? (files.subuid ?? '/etc/subuid') : (files.subgid ?? '/etc/subgid');
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // missing file: no ranges
    }
    const ranges = rootRanges(text);
    for (const e of idmap.filter((x) => x.type === type)) {
      const ok = ranges.some((r) => e.hostid >= r.start && e.hostid + e.range <= r.start + r.count);
      if (!ok) {
        throw new UnavailableError(
          'subuid',
          `LXC maps ids through newuidmap/newgidmap (package uidmap) on this host, and ${file} does not give root the host ids ${e.hostid}-${e.hostid + e.range - 1}: add the line 'root:${e.hostid}:${e.range}' to /etc/subuid and /etc/subgid (Proxmox VE hosts have it)`,
        );
      }
    }
  }
}

import * as fs from 'node:fs';
import { join, relative, sep } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { checkUpidFileName, isUpid, parseUpid, upidLogSubdir } from './Upid.js';

/** A finished task as recorded in a node's `index` file. */
export interface TaskIndexEntry {
  readonly upid: string;
  /** Seconds since the epoch. */
  readonly endtime: number;
  readonly exitstatus: string;
}

/** One line of a task log: `n` counts from 1, `t` is the text (Proxmox's `/tasks/{upid}/log`). */
export interface TaskLogLine {
  readonly n: number;
  readonly t: string;
}

/** Exit status of a task that was running in a process that died (Proxmox's wording). */
export const UNEXPECTED_STATUS = 'unexpected status';

/**
 * The on-disk task tree, laid out like Proxmox's /var/log/pve/tasks, one tree per node:
 *
 * - `<root>/<node>/<X>/<UPID>`: the log, one line per entry, ending with `TASK OK`,
 *   `TASK WARNINGS: <n>` or `TASK ERROR: <message>` (X = last hex digit of the starttime);
 * - `<root>/<node>/index`: one line per finished task, `<UPID> <ENDTIME_HEX> <exitstatus>`;
 * - `<root>/<node>/active/<UPID>`: an empty marker while the task runs.
 *
 * Appends to `index` are single `write`s on an O_APPEND descriptor, so lines from several
 * processes never interleave.
 * @internal
 */
export class TaskLogDir {
  constructor(readonly root: string) {}

  nodeDir(node: string): string {
    return join(this.root, node);
  }

  /**
   * The log file of `upid`. Defence in depth beside `encodeUpid`'s checks: a UPID that could
   * name anything but a file of this tree is refused.
   * @throws InvalidArgumentError (`upid`).
   */
  logPath(upid: string): string {
    checkUpidFileName(upid);
    const { node } = parseUpid(upid);
    return this.#inside(join(this.nodeDir(node), upidLogSubdir(upid), upid), upid);
  }

  /** The running marker of `upid`; refused as in {@link logPath}. */
  activePath(upid: string): string {
    checkUpidFileName(upid);
    return this.#inside(join(this.nodeDir(parseUpid(upid).node), 'active', upid), upid);
  }

  #inside(path: string, upid: string): string {
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || rel.split(sep).length !== 3) {
      throw new InvalidArgumentError('upid', `UPID '${upid}' would leave the task directory`);
    }
    return path;
  }

  /** Creates the log file exclusively; false when a task with this UPID exists already. */
  createLog(upid: string): number | null {
    const path = this.logPath(upid);
    fs.mkdirSync(join(path, '..'), { recursive: true });
    try {
      return fs.openSync(path, 'wx', 0o640);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw error;
    }
  }

  markActive(upid: string): void {
    const path = this.activePath(upid);
    fs.mkdirSync(join(path, '..'), { recursive: true });
    fs.writeFileSync(path, '');
  }

  unmarkActive(upid: string): void {
    fs.rmSync(this.activePath(upid), { force: true });
  }

  activeUpids(node: string): string[] {
    try {
      return fs.readdirSync(join(this.nodeDir(node), 'active')).filter(isUpid);
    } catch {
      return [];
    }
  }

  appendIndex(entry: TaskIndexEntry): void {
    const node = parseUpid(entry.upid).node;
    fs.mkdirSync(this.nodeDir(node), { recursive: true });
    const status = entry.exitstatus.replace(/\s+/g, ' ').trim() || UNEXPECTED_STATUS;
    const line = `${entry.upid} ${entry.endtime.toString(16).toUpperCase().padStart(8, '0')} ${status}\n`;
    fs.appendFileSync(join(this.nodeDir(node), 'index'), line);
  }

  /** Finished tasks of `node`, first occurrence of each UPID. */
  readIndex(node: string): Map<string, TaskIndexEntry> {
    let text: string;
    try {
      text = fs.readFileSync(join(this.nodeDir(node), 'index'), 'utf8');
    } catch {
      return new Map();
    }
    const out = new Map<string, TaskIndexEntry>();
    for (const line of text.split('\n')) {
      const m = /^(UPID:\S+) ([0-9A-Fa-f]{8}) (.*)$/.exec(line);
      if (!m || out.has(m[1]!) || !isUpid(m[1]!)) continue;
      out.set(m[1]!, { upid: m[1]!, endtime: parseInt(m[2]!, 16), exitstatus: m[3]! });
    }
    return out;
  }

  /**
   * The log's lines. `start` is 0-based, `limit` counts lines.
   * @throws NotFoundError when there is no log for `upid`.
   */
  readLog(upid: string, start: number, limit: number): { total: number; lines: TaskLogLine[] } {
    let text: string;
    try {
      text = fs.readFileSync(this.logPath(upid), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('task', upid);
      throw error;
    }
    const all = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text === '' ? [] : text.split('\n');
    const lines: TaskLogLine[] = [];
    for (let i = start; i < all.length && lines.length < limit; i++) lines.push({ n: i + 1, t: all[i]! });
    return { total: all.length, lines };
  }

  /** The exit status on the last line of a finished log, or null (running, crashed, missing). */
  exitStatusFromLog(upid: string): string | null {
    let text: string;
    try {
      text = fs.readFileSync(this.logPath(upid), 'utf8');
    } catch {
      return null;
    }
    const last = text.trimEnd().split('\n').pop() ?? '';
    if (last === 'TASK OK') return 'OK';
    const m = /^TASK (?:ERROR: (.*)|(WARNINGS: \d+))$/.exec(last);
    return m ? (m[1] ?? m[2]!) : null;
  }
}

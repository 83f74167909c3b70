/**
 * A container's run directory: `<kernel runDir>/lxc/<vmid>` is also LXC's container directory,
 * with lxcpath `<kernel runDir>/lxc` and container name `<vmid>`, so `lxc-start -P <lxcpath>
 * -n <vmid>` finds the generated `config` there. It also holds the monitor pid file LXC
 * writes, Corral's `state.json` (the init's pid and start time, so status needs no
 * `lxc-info`), LXC's log and the console log. A kernel started later on the same runDir
 * re-attaches through these files.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { GuestNic } from '@corral/core';

/** What Corral records about a running container. */
export interface ContainerRunState {
  /** Host pid of the container's init. */
  readonly initPid: number;
  /** Its start time after boot in clock ticks (`/proc/<pid>/stat` field 22), to detect a recycled pid. */
  readonly initStartTicks: number;
  /** Host pid of LXC's monitor process (`[lxc monitor] <lxcpath> <name>`). */
  readonly monitorPid?: number;
  /** Unix time in ms when the start finished. */
  readonly startedAt: number;
}

/** A container's bridged NICs: as the config names them (unplugged at stop) and as plugged (bridges resolved; re-plugged by the start hook after a reboot from inside). */
export interface ContainerNics {
  readonly nics: readonly GuestNic[];
  readonly plugged: readonly GuestNic[];
}

/** Paths and state files of one container. */
export class ContainerRunDir {
  constructor(
    /** The guest's run directory (`GuestContext.runDir`). */
    readonly dir: string,
  ) {}

  /** LXC's lxcpath: the parent of the run directory. */
  get lxcPath(): string {
    return dirname(this.dir);
  }

  /** LXC's container name: the run directory's name (the vmid). */
  get name(): string {
    return basename(this.dir);
  }

  get configFile(): string {
    return join(this.dir, 'config');
  }

  /** Written by `lxc-start -p`, removed by LXC when the container stops. */
  get monitorPidFile(): string {
    return join(this.dir, 'monitor.pid');
  }

  get stateFile(): string {
    return join(this.dir, 'state.json');
  }

  get logFile(): string {
    return join(this.dir, 'lxc.log');
  }

  get consoleLogFile(): string {
    return join(this.dir, 'console.log');
  }

  /** The NICs plugged at the last start (see {@link ContainerNics}). */
  get nicsFile(): string {
    return join(this.dir, 'nics.json');
  }

  /** The NICs recorded at the last start, or `undefined`. */
  async readNics(): Promise<ContainerNics | undefined> {
    try {
      const n = JSON.parse(await readFile(this.nicsFile, 'utf8')) as ContainerNics;
      return Array.isArray(n.nics) && Array.isArray(n.plugged) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records the NICs (temp file + rename). */
  async writeNics(nics: ContainerNics): Promise<void> {
    await writeAtomic(this.nicsFile, `${JSON.stringify(nics)}
`);
  }

  /** The recorded state, or `undefined`. */
  async readState(): Promise<ContainerRunState | undefined> {
    try {
      const s = JSON.parse(await readFile(this.stateFile, 'utf8')) as ContainerRunState;
      return Number.isInteger(s.initPid) && Number.isInteger(s.initStartTicks) ? s : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records the state (temp file + rename). */
  async writeState(state: ContainerRunState): Promise<void> {
    await writeAtomic(this.stateFile, `${JSON.stringify(state)}\n`);
  }

  /** The monitor pid LXC wrote, or `undefined`. */
  async readMonitorPid(): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(this.monitorPidFile, 'utf8')).trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes the LXC config (temp file + rename). */
  async writeConfig(text: string): Promise<void> {
    await writeAtomic(this.configFile, text);
  }

  /** The last `lines` lines of LXC's log ('' when there is none). */
  async logTail(lines = 20): Promise<string> {
    try {
      const text = await readFile(this.logFile, 'utf8');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Removes what a run leaves (config, state, pid file, logs): after a stop, before a start. Never the directory's other files. */
  async clear(options: { keepLogs?: boolean } = {}): Promise<void> {
    const files = [this.configFile, this.stateFile, this.monitorPidFile, this.nicsFile];
    if (!options.keepLogs) files.push(this.logFile, this.consoleLogFile);
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

/**
 * The host's cgroup hierarchy as the LXC driver needs it: which version runs (v1 controllers
 * such as `/sys/fs/cgroup/memory`, or the v2 unified tree), where a container's cgroup is
 * (read from `/proc/<pid>/cgroup` of its init), and reading and writing its files.
 *
 * LXC puts a container's processes into `lxc.payload.<name>` at the root of each hierarchy
 * (with a `-N` suffix when that name is taken); {@link HostCgroups.containerCgroup} cuts the
 * path read from `/proc` back to that directory, so a container that makes sub-cgroups of its
 * own (systemd's `init.scope`) is still found.
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidStateError } from '@corral/core';

/** 1: legacy per-controller hierarchies (`lxc.cgroup.*` keys); 2: unified (`lxc.cgroup2.*`). */
export type CgroupVersion = 1 | 2;

/** Where a host keeps its cgroups and proc files (tests point these elsewhere). */
export interface HostCgroupsOptions {
  /** Default `/sys/fs/cgroup`. */
  readonly root?: string;
  /** Default `/proc`. */
  readonly proc?: string;
}

/** A container's cgroup directories. */
export class ContainerCgroup {
  constructor(
    readonly version: CgroupVersion,
    /** v1: controller → directory; v2: `''` → the unified directory. */
    readonly dirs: ReadonlyMap<string, string>,
  ) {}

  /**
   * The path of a cgroup file named as in the LXC key (`memory.limit_in_bytes`, `pids.max`):
   * in v1 the part before the first dot is the controller. `undefined` when the container has
   * no cgroup of that controller.
   */
  pathOf(file: string): string | undefined {
    if (this.version === 2) {
      const dir = this.dirs.get('');
      return dir === undefined ? undefined : join(dir, file);
    }
    const controller = file.slice(0, file.indexOf('.'));
    const dir = this.dirs.get(controller);
    return dir === undefined ? undefined : join(dir, file);
  }

  /** The trimmed content of a cgroup file, or `undefined` when it cannot be read. */
  async read(file: string): Promise<string | undefined> {
    const path = this.pathOf(file);
    if (path === undefined) return undefined;
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch {
      return undefined;
    }
  }

  /** A cgroup file as an integer (`max` and unreadable files give `undefined`). */
  async readNumber(file: string): Promise<number | undefined> {
    const text = await this.read(file);
    if (text === undefined || !/^-?\d+/.test(text)) return undefined;
    return Number(text.split(/\s+/)[0]);
  }

  /**
   * Writes a cgroup file (a live limit change).
   *
   * @throws InvalidStateError naming the file when the kernel refuses the value (a memory
   *   limit below what is in use, a CPU outside the parent's set...), or the container has no
   *   cgroup of that controller.
   */
  async write(file: string, value: string): Promise<void> {
    const path = this.pathOf(file);
    if (path === undefined) throw new InvalidStateError('running', `the container has no cgroup for '${file}'`);
    try {
      await writeFile(path, value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      throw new InvalidStateError('running', `the kernel refused ${file} = ${value} (${code || (err as Error).message})`, { cause: err });
    }
  }
}

/** The cgroup side of the host. */
export class HostCgroups {
  readonly root: string;
  readonly proc: string;
  #version: CgroupVersion | undefined;
  #cpus: string | undefined;

  constructor(options: HostCgroupsOptions = {}) {
    this.root = options.root ?? '/sys/fs/cgroup';
    this.proc = options.proc ?? '/proc';
  }

  /** 1 when the v1 memory controller is mounted (`<root>/memory` exists; hybrid hosts count as 1), else 2. Cached. */
  get version(): CgroupVersion {
    this.#version ??= existsSync(join(this.root, 'memory')) ? 1 : 2;
    return this.#version;
  }

  /** True when a file exists at the root of a controller (`memory.memsw.limit_in_bytes` needs swap accounting). */
  hasRootFile(file: string): boolean {
    if (this.version === 2) return existsSync(join(this.root, file));
    return existsSync(join(this.root, file.slice(0, file.indexOf('.')), file));
  }

  /** The CPUs containers may use (the root cpuset), e.g. `0-1`. Cached. */
  get cpus(): string {
    if (this.#cpus === undefined) {
      const file = this.version === 1 ? join(this.root, 'cpuset', 'cpuset.cpus') : join(this.root, 'cpuset.cpus.effective');
      try {
        this.#cpus = readFileSync(file, 'utf8').trim();
      } catch {
        this.#cpus = '';
      }
    }
    return this.#cpus;
  }

  /**
   * The cgroup of the container whose init is `pid`, cut back to LXC's `lxc.payload.*`
   * directory. `undefined` when the process is gone.
   */
  async containerCgroup(pid: number): Promise<ContainerCgroup | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.proc, String(pid), 'cgroup'), 'utf8');
    } catch {
      return undefined;
    }
    const dirs = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^(\d+):([^:]*):(.*)$/.exec(line);
      if (!m) continue;
      const path = payloadPath(m[3]!);
      if (this.version === 2) {
        if (m[1] === '0') dirs.set('', join(this.root, path));
        continue;
      }
      for (const controller of m[2]!.split(',')) {
        if (controller && !controller.startsWith('name=')) dirs.set(controller, join(this.root, controller, path));
      }
    }
    return new ContainerCgroup(this.version, dirs);
  }
}

/** `/lxc.payload.100/init.scope` → `/lxc.payload.100`; paths without such a segment stay as they are. */
export function payloadPath(path: string): string {
  const parts = path.split('/');
  const i = parts.findIndex((p) => p.startsWith('lxc.payload.'));
  return i < 0 ? path : parts.slice(0, i + 1).join('/');
}

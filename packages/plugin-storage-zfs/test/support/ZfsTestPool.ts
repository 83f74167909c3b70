/**
 * Throw-away ZFS pools for tests, on sparse files, served by the machine's one zfs-fuse daemon.
 *
 * zfs-fuse (Debian package zfs-fuse 0.7.0, pool version 23) is one daemon per machine that
 * every `zfs`/`zpool` command talks to through /var/run/zfs/zfs_socket. Tests share it (also
 * across parallel ava workers), so tests start it when it is missing and never stop it; `.ci`
 * starts it up front. Each pool gets a unique name and lives in the caller's directory.
 *
 * Quirks of zfs-fuse 0.7 that tests and drivers must respect (measured):
 * - no zvols: `zfs create -V` aborts with "internal error: Function not implemented";
 * - `zfs list` has no `-p` and `zfs get` has no `-t`; `zfs get -Hp -r` gives exact numbers;
 * - `zpool get` takes no options at all (no -H, no -p) and `zpool list` has no -p: pool
 *   sizes in bytes come from `zfs get -Hp used,available <pool>` (what Proxmox uses anyway);
 * - destroying a mounted dataset whose files were accessed fails once with "dataset is busy"
 *   (and unmounts it); `zfs unmount` first, or retry, as Proxmox's free_image does.
 *
 * @packageDocumentation
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, runToolOk } from '@corral/core/testing';

/** Programs the harness runs; tests skip (or fail in CI) when one is missing. */
export const ZFS_TEST_PROGRAMS: readonly string[] = ['zfs-fuse', 'zfs', 'zpool'];

/** The daemon's pid file (the same file Debian's /etc/init.d/zfs-fuse uses). */
export const ZFS_FUSE_PIDFILE = '/var/run/zfs-fuse.pid';

/** Options of {@link createZfsTestPool}. */
export interface ZfsTestPoolOptions {
  /**
   * Parent directory (must exist). The pool's backing file and mount point live in a fresh
   * `zfs-XXXXXX` directory inside it, which `destroy()` removes.
   */
  dir: string;
  /** Size of the sparse backing file in bytes (at least 64 MiB). Default 256 MiB. */
  sizeBytes?: number;
  /** Pool name prefix; a random suffix is added. Default `corraltest`. */
  namePrefix?: string;
  /**
   * Exact pool name instead of prefix + random suffix (for recording fixtures with stable
   * names). Tests use the default: a fixed name collides between parallel runs.
   */
  name?: string;
}

/** A test pool. */
export interface ZfsTestPool {
  /** Pool name, e.g. `corraltest3f9a0c12`. */
  pool: string;
  /** The pool's private directory (backing file and mount points). */
  dir: string;
  /** The sparse file backing the pool. */
  imagePath: string;
  /** Mount point of the pool's root dataset; child datasets mount below it. */
  mountpoint: string;
  /**
   * Destroys the pool (`zpool destroy -f`, retried while busy) and removes `dir`.
   * Idempotent; rejects only when the pool still exists after retries.
   */
  destroy(): Promise<void>;
}

/** True when the daemon answers (`zpool list` exits 0). */
export async function zfsFuseRunning(): Promise<boolean> {
  const r = await runTool(['zpool', 'list', '-H', '-o', 'name'], { timeoutMs: 10_000 });
  return r.exitCode === 0;
}

function isZfsFuse(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'zfs-fuse';
  } catch {
    return false;
  }
}

function readPid(): number | undefined {
  try {
    const pid = Number(readFileSync(ZFS_FUSE_PIDFILE, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure the zfs-fuse daemon runs and answers; starts it when it does not.
 *
 * Started as Debian's init script does (`zfs-fuse --pidfile /var/run/zfs-fuse.pid`, plus
 * `--no-kstat-mount` so nothing is mounted on /zfs-kstat): the program forks, the parent exits
 * 0 once the socket exists, the daemon keeps running detached and is never stopped by tests.
 * Starts are serialised (in process and through a lock directory in /run/lock); a second
 * start would exit 1 and leave the first daemon alone. A stale pid file (dead pid) is
 * removed first. Resolves with the daemon's pid (from the pid file, when there is one) and
 * whether this call started it; rejects when the daemon does not answer within 15 s. Unlike the init script, it does not set ulimits or
 * oom_score_adj (not needed for test pools).
 */
export async function ensureZfsFuse(): Promise<{ pid: number | undefined; started: boolean }> {
  if (await zfsFuseRunning()) return { pid: readPid(), started: false };
  // One start at a time: in this process through a shared promise, across processes (ava
  // workers) through a lock directory. Racing starts would be harmless for the daemon, but
  // each loser leaves a zombie, since PID 1 on these machines does not reap orphans.
  starting ??= withStartLock(startDaemon).finally(() => {
    starting = undefined;
  });
  return starting;
}

let starting: Promise<{ pid: number | undefined; started: boolean }> | undefined;

/** Lock directory serialising daemon starts across processes (stale after 30 s). */
const START_LOCK = '/run/lock/corral-zfs-fuse-start';

async function withStartLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      mkdirSync(START_LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(START_LOCK).mtimeMs > 30_000) rmdirSync(START_LOCK);
      } catch {
        /* released meanwhile */
      }
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${START_LOCK}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      rmdirSync(START_LOCK);
    } catch {
      /* removed as stale by another process */
    }
  }
}

async function startDaemon(): Promise<{ pid: number | undefined; started: boolean }> {
  if (await zfsFuseRunning()) return { pid: readPid(), started: false };
  // WARNING: zfs-fuse refuses to start (exit 1) when its pid file exists, even when that pid
  // is dead, and only after replacing the socket. Remove a pid file whose process is not a
  // live zfs-fuse; a live one is starting up: wait for it.
  const existing = readPid();
  let exitCode: number | null = null;
  if (existing === undefined || !isZfsFuse(existing)) {
    if (existing !== undefined) {
      try {
        unlinkSync(ZFS_FUSE_PIDFILE);
      } catch {
        /* already gone */
      }
    }
    const exit = await new Promise<{ code: number | null; err?: Error }>((resolve) => {
      const child = spawn('zfs-fuse', ['--pidfile', ZFS_FUSE_PIDFILE, '--no-kstat-mount'], {
        stdio: 'ignore',
        detached: true,
        env: { ...process.env, LC_ALL: 'C' },
      });
      child.on('error', (err) => resolve({ code: null, err }));
      child.on('exit', (code) => resolve({ code }));
    });
    if (exit.err) throw exit.err;
    exitCode = exit.code;
  }
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    if (await zfsFuseRunning()) return { pid: readPid(), started: exitCode === 0 };
    await sleep(100);
  }
  throw new Error(
    existing !== undefined && exitCode === null
      ? `zfs-fuse (pid ${existing}) runs but does not answer on /var/run/zfs/zfs_socket`
      : `zfs-fuse did not answer within 15 s (start exited with ${exitCode})`,
  );
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Pools created by this process and not yet destroyed: destroyed if the process exits. */
const livePools = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pool of livePools) spawnSync('zpool', ['destroy', '-f', pool], { stdio: 'ignore', timeout: 10_000 });
  });
}

async function poolExists(pool: string): Promise<boolean> {
  const r = await runTool(['zpool', 'list', '-H', '-o', 'name', pool], { timeoutMs: 30_000 });
  return r.exitCode === 0;
}

/**
 * Creates a pool named `<namePrefix><8 hex>` (or `name`) on a sparse file in a private
 * directory under `dir`, with its root dataset mounted in that directory and
 * `cachefile=none` (a test pool is never re-imported by a restarted daemon). Starts zfs-fuse
 * first if needed ({@link ensureZfsFuse}). Rejects with RangeError for a bad size or name
 * and with the failing command's error otherwise; on failure nothing is left behind.
 */
export async function createZfsTestPool(options: ZfsTestPoolOptions): Promise<ZfsTestPool> {
  const sizeBytes = options.sizeBytes ?? 256 * 1024 ** 2;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 64 * 1024 ** 2) {
    throw new RangeError(`sizeBytes must be an integer of at least 64 MiB (zfs minimum vdev size), got ${sizeBytes}`);
  }
  const prefix = options.namePrefix ?? 'corraltest';
  const pool = options.name ?? `${prefix}${randomBytes(4).toString('hex')}`;
  if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(pool)) throw new RangeError(`invalid pool name '${pool}'`);
  await ensureZfsFuse();

  const dir = await mkdtemp(join(options.dir, 'zfs-'));
  const imagePath = join(dir, 'pool.img');
  const mountpoint = join(dir, 'mnt');
  let created = false;
  try {
    const fh = await open(imagePath, 'wx');
    try {
      await fh.truncate(sizeBytes);
    } finally {
      await fh.close();
    }
    await runToolOk(['zpool', 'create', '-o', 'cachefile=none', '-m', mountpoint, pool, imagePath], { timeoutMs: 60_000 });
    created = true;
    livePools.add(pool);
    installExitHook();
  } catch (e) {
    if (created) await runTool(['zpool', 'destroy', '-f', pool]);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    let lastErr = '';
    for (let i = 0; i < 6 && (await poolExists(pool)); i++) {
      const r = await runTool(['zpool', 'destroy', '-f', pool], { timeoutMs: 60_000 });
      if (r.exitCode === 0) break;
      lastErr = r.stderr.trim();
      await sleep(1000);
    }
    if (await poolExists(pool)) throw new Error(`zpool destroy ${pool} failed: ${lastErr}`);
    destroyed = true;
    livePools.delete(pool);
    await rm(dir, { recursive: true, force: true });
  };

  return { pool, dir, imagePath, mountpoint, destroy };
}

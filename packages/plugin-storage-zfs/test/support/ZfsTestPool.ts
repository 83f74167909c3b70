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
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, runToolOk } from './runTool.js';

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
 * A second concurrent start exits 1 and leaves the first daemon alone, so racing workers
 * are harmless. Resolves with the daemon's pid (from the pid file, when there is one) and
 * whether this call started it; rejects when the daemon does not answer within 15 s.
 */
export async function ensureZfsFuse(): Promise<{ pid: number | undefined; started: boolean }> {
  if (await zfsFuseRunning()) return { pid: readPid(), started: false };
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
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    if (await zfsFuseRunning()) {
      const pid = readPid();
      if (pid !== undefined && exit.code === 0) {
        try {
          // As the init script: keep the OOM killer off the daemon that holds every pool.
          writeFileSync(`/proc/${pid}/oom_score_adj`, '-1000');
        } catch {
          /* not fatal */
        }
      }
      return { pid, started: exit.code === 0 };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`zfs-fuse did not answer within 15 s (start exited with ${exit.code})`);
}

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
 * Creates a pool named `<namePrefix><8 hex>` on a sparse file in a private directory under
 * `dir`, with its root dataset mounted in that directory and `cachefile=none` (a test pool is
 * never re-imported by a restarted daemon). Starts zfs-fuse first if needed
 * ({@link ensureZfsFuse}). On failure nothing is left behind.
 */
export async function createZfsTestPool(options: ZfsTestPoolOptions): Promise<ZfsTestPool> {
  const sizeBytes = options.sizeBytes ?? 256 * 1024 ** 2;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 64 * 1024 ** 2) {
    throw new RangeError(`sizeBytes must be an integer of at least 64 MiB (zfs minimum vdev size), got ${sizeBytes}`);
  }
  const prefix = options.namePrefix ?? 'corraltest';
  if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(prefix)) throw new RangeError(`invalid pool name prefix '${prefix}'`);
  await ensureZfsFuse();

  const dir = await mkdtemp(join(options.dir, 'zfs-'));
  const pool = `${prefix}${randomBytes(4).toString('hex')}`;
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
      await new Promise((res) => setTimeout(res, 1000));
    }
    if (await poolExists(pool)) throw new Error(`zpool destroy ${pool} failed: ${lastErr}`);
    destroyed = true;
    livePools.delete(pool);
    await rm(dir, { recursive: true, force: true });
  };

  return { pool, dir, imagePath, mountpoint, destroy };
}

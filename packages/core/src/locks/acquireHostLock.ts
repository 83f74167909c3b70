import { createHash } from 'node:crypto';
import { close, constants, open } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AbortedError, CommandFailedError, InternalError, LockTimeoutError, NotFoundError, UnavailableError } from '../errors.js';
import { NodeCommandRunner } from '../exec/NodeCommandRunner.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import { createLease, lockAborted, validateLockArgs } from './lockArgs.js';
import type { LockLease, LockOptions } from './LockManager.js';

const openFd = promisify(open);
const closeFd = promisify(close);

/** util-linux flock(1), which takes the lock on the descriptor it is handed. */
const FLOCK = 'flock';
/** Exit code flock(1) is told to use for "busy" (`-n`) and "timed out" (`-w`). */
const CONFLICT_EXIT_CODE = 75;
/** Mode of the lock directory: its owner only, so no one else can open (and lock) a lock file. */
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

const runner: CommandRunner = new NodeCommandRunner();
/** Lock directories checked by this process (a directory is checked once). */
const checkedDirectories = new Map<string, Promise<void>>();

/**
 * Where host lock files live by default: `/run/corral/locks` for root (`/run` is root's and
 * not world-writable, so no one else can create the directory first); for another user,
 * `corral-locks-<uid>` under `$XDG_RUNTIME_DIR`, or under the temp dir without it. Files in
 * /run vanish at reboot, when no lock can be held anyway.
 */
export function defaultHostLockDirectory(): string {
  const euid = process.geteuid?.() ?? 0;
  if (euid === 0) return '/run/corral/locks';
  return join(process.env.XDG_RUNTIME_DIR || tmpdir(), `corral-locks-${euid}`);
}

/**
 * The lock file of lock `name` in `scope` (the scope and the name are hashed: any name, any
 * length). The file is created on first use and never deleted.
 * @internal
 */
export function hostLockPath(name: string, options: { scope?: string; directory?: string } = {}): string {
  const key = options.scope === undefined ? name : `${options.scope}\0${name}`;
  return join(options.directory ?? defaultHostLockDirectory(), `${createHash('sha1').update(key).digest('hex')}.lock`);
}

/**
 * Creates the lock directory (mode 0700) or checks the one found: a real directory (not a
 * symlink) owned by this process's effective uid, with no access for group or others.
 * Anything else is refused, since whoever can open a lock file can lock it.
 */
function ensureDirectory(directory: string): Promise<void> {
  let checked = checkedDirectories.get(directory);
  if (!checked) {
    checked = (async () => {
      const euid = process.geteuid?.() ?? 0;
      try {
        await mkdir(dirname(directory), { recursive: true, mode: 0o755 });
        await mkdir(directory, { mode: DIRECTORY_MODE }).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
      } catch (error) {
        throw new UnavailableError('host-locks', `cannot create the host lock directory ${directory}: ${(error as Error).message}`, { cause: error });
      }
      const st = await lstat(directory);
      if (!st.isDirectory() || st.uid !== euid || (st.mode & 0o077) !== 0) {
        const found = st.isDirectory() ? `a directory owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}` : 'not a directory';
        throw new UnavailableError(
          'host-locks',
          `host lock directory ${directory} must be a directory owned by uid ${euid} with mode 0700 (only its owner may open lock files), found ${found}`,
        );
      }
    })();
    checkedDirectories.set(directory, checked);
    // A failed check is retried next time (the administrator may have fixed it).
    checked.catch(() => checkedDirectories.delete(directory));
  }
  return checked;
}

/** Opens (creating if needed) the lock file; recreates the directory once if it was removed. */
async function openLockFile(directory: string, path: string): Promise<number> {
  const flags = constants.O_RDONLY | constants.O_CREAT | constants.O_NOFOLLOW;
  for (let attempt = 0; ; attempt++) {
    await ensureDirectory(directory);
    try {
      return await openFd(path, flags, FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) {
        checkedDirectories.delete(directory);
        continue;
      }
      throw new UnavailableError('host-locks', `cannot open host lock file ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Options of {@link acquireHostLock}. */
export interface HostLockOptions extends LockOptions {
  /** Scope of `name` (e.g. a dataDir): the same name in different scopes are different locks. */
  readonly scope?: string;
  /**
   * Directory of the lock files. Default {@link defaultHostLockDirectory}. Every process that
   * shares the protected state must use the same one.
   */
  readonly directory?: string;
}

/**
 * Takes a host-wide lock: among every process of this host that asks for the same `name` (and
 * `scope`, in the same `directory`), one exclusive holder, or any number of shared ones.
 *
 * How (as Proxmox's `lock_file`): flock(2) on a lock file named after a hash of the scope and
 * the name, in a directory only its owner (root, for the kernel) can enter (mode 0700,
 * checked): no other local user can open a lock file, so no one else can take, hold or block
 * a lock. This process opens the file and util-linux `flock` (run with the descriptor as its
 * fd 3) locks the open file description this process shares; the lock then stays held until
 * {@link LockLease.release} closes the descriptor, or this process dies, even by SIGKILL
 * (the kernel drops the lock with the last descriptor): no stale locks, no stale-lock
 * breaking. Waiters block in the kernel; the order between processes is the kernel's, not
 * FIFO: put a {@link LocalLockManager} in front for FIFO inside a process. Each acquire runs
 * one `flock` (a few ms); a release only closes a descriptor. Lock files are never deleted
 * (deleting one while it is held would let a second holder lock a new file): they are empty
 * and vanish with /run at reboot.
 *
 * The lease's `lost` signal never aborts: nothing but `release` or death ends the hold.
 *
 * @throws LockTimeoutError after `timeoutMs` (default 10 s) without the lock.
 * @throws AbortedError when `signal` aborts first.
 * @throws InvalidArgumentError for an empty name, a negative/NaN timeout or an unknown mode.
 * @throws UnavailableError when the lock directory cannot be created, is not owned by this
 *   process's user or is open to others, a lock file cannot be opened, or util-linux `flock`
 *   is not installed.
 * @throws InternalError when `flock` fails otherwise (its message included).
 */
export async function acquireHostLock(name: string, options: HostLockOptions = {}): Promise<LockLease> {
  const { timeoutMs, mode } = validateLockArgs(name, options);
  const { signal } = options;
  if (signal?.aborted) throw lockAborted(name, signal);
  const directory = options.directory ?? defaultHostLockDirectory();
  const path = hostLockPath(name, { scope: options.scope, directory });
  const fd = await openLockFile(directory, path);

  // flock -w takes seconds; below a millisecond left, try once.
  const seconds = Number.isFinite(timeoutMs) ? (timeoutMs / 1000).toFixed(3) : undefined;
  const wait = seconds === undefined ? [] : Number(seconds) === 0 ? ['-n'] : ['-w', seconds];
  const argv = [FLOCK, mode === 'shared' ? '-s' : '-x', '-E', String(CONFLICT_EXIT_CODE), ...wait, '3'];
  let exitCode: number;
  try {
    ({ exitCode } = await runner.run(argv, { extraFds: [fd], signal, okExitCodes: [0, CONFLICT_EXIT_CODE], maxOutputBytes: 64 * 1024 }));
  } catch (error) {
    // The child may have got the lock just before it was killed: closing our descriptor (the
    // last one) drops it in any case.
    await closeFd(fd).catch(() => undefined);
    if (error instanceof AbortedError) throw lockAborted(name, signal!);
    if (error instanceof NotFoundError) {
      throw new UnavailableError('host-locks', `host locks need util-linux '${FLOCK}', which is not installed`, { cause: error });
    }
    const detail = error instanceof CommandFailedError ? error.message : (error as Error).message;
    throw new InternalError(`cannot lock host lock file ${path} for '${name}': ${detail}`, { cause: error });
  }
  if (exitCode !== 0) {
    await closeFd(fd).catch(() => undefined);
    throw new LockTimeoutError(name, timeoutMs);
  }
  return createLease(name, mode, async () => {
    await closeFd(fd);
  }).lease;
}

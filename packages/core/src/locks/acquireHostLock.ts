import { createHash, randomBytes } from 'node:crypto';
import { close, constants, open } from 'node:fs';
import { link, lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AbortedError, InternalError, LockTimeoutError, NotFoundError, UnavailableError } from '../errors.js';
import { NodeCommandRunner } from '../exec/NodeCommandRunner.js';
import type { CommandRunner } from '../exec/CommandRunner.js';
import { createLease, lockAborted, validateLockArgs } from './lockArgs.js';
import type { LockLease, LockOptions } from './LockManager.js';

const openFd = promisify(open);
const closeFd = promisify(close);

/** util-linux flock(1), which takes the lock on the descriptor it is handed (stale-lock removal). */
const FLOCK = 'flock';
/** First and largest pause between attempts on a busy host lock, ms. */
const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 20;
/** Longest unix socket path (sun_path holds 108 bytes with the final NUL). */
const MAX_SOCKET_PATH = 107;
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
 * The socket file that stands for lock `name` in `scope` while someone holds it (the scope
 * and the name are hashed: any name, any length). Beside it: `<hash>.shared/` (one socket per
 * shared holder) and `<hash>.lock` (serializes the removal of a dead holder's socket).
 * @internal
 */
export function hostLockPath(name: string, options: { scope?: string; directory?: string } = {}): string {
  const key = options.scope === undefined ? name : `${options.scope}\0${name}`;
  return join(options.directory ?? defaultHostLockDirectory(), `${createHash('sha1').update(key).digest('hex')}.sock`);
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

/** Opens (creating if needed) a flock file; recreates the directory once if it was removed. */
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

/**
 * A listening unix socket that stands for a held lock. Waiters connect and stay connected: the
 * socket's close (release, or the holder's death) wakes them at once, without polling.
 */
class LockSocket {
  readonly #peers = new Set<Socket>();
  #closing = false;
  /**
   * Set when the socket failed after listening and was closed. Not by EMFILE on accept: libuv
   * retries that accept without reporting it (Node 20), so a holder out of file descriptors
   * keeps listening, holds the lock, and leaves its waiters queued until it releases (its
   * event loop spins on accept meanwhile).
   */
  #lost = false;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens at `path` (which must not exist). */
  static listen(path: string): Promise<LockSocket> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      const lock = new LockSocket(server);
      server.on('connection', (socket) => lock.#accept(socket));
      const onListenError = (error: Error): void => {
        server.close();
        reject(error);
      };
      server.once('error', onListenError);
      server.listen({ path, exclusive: true }, () => {
        server.off('error', onListenError);
        // A later failure of the socket closes it; the lease is then lost. (EMFILE on accept
        // never gets here: see #lost.)
        server.on('error', () => {
          if (lock.#closing) return;
          lock.#lost = true;
          server.close();
        });
        server.unref();
        resolve(lock);
      });
    });
  }

  #accept(socket: Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#peers.add(socket);
    socket.unref();
    socket.on('error', () => undefined);
    socket.once('close', () => this.#peers.delete(socket));
    // Nothing is read from waiters; discard whatever they send.
    socket.resume();
  }

  /** Whether the socket was closed by a failure rather than by {@link close}. */
  get lost(): boolean {
    return this.#lost;
  }

  /** Calls `listener` when the socket closes (by {@link close} or otherwise; at once if it already has). */
  onClose(listener: () => void): void {
    if (this.#lost && !this.#server.listening) queueMicrotask(listener);
    else this.#server.once('close', listener);
  }

  /** Drops every waiter's connection and closes; libuv unlinks the path it listened on first. */
  close(): Promise<void> {
    this.#closing = true;
    for (const peer of this.#peers) peer.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * Connects to the holder's socket at `path` and waits for it to go: `released` when the
 * connection closes (release or death), `dead` when the file is there but nobody listens
 * (the holder died), `gone` when there is no file, `busy` when its backlog is full, `timeout`
 * when `deadline` (performance.now() ms) passes while connected, `aborted` on `signal`.
 */
function awaitHolder(path: string, deadline: number, signal: AbortSignal | undefined): Promise<'released' | 'dead' | 'gone' | 'busy' | 'timeout' | 'aborted'> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const socket = connect({ path });
    const finish = (outcome: 'released' | 'dead' | 'gone' | 'busy' | 'timeout' | 'aborted' | Error): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = (): void => finish('aborted');
    if (signal?.aborted) return finish('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      connected = true;
      // Only a wait for a live holder is bounded: a connect itself answers at once.
      const left = deadline - performance.now();
      if (Number.isFinite(left)) timer = setTimeout(() => finish('timeout'), Math.max(0, left));
    });
    socket.on('data', () => undefined);
    socket.once('close', () => finish('released'));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // ECONNRESET: the holder closed while the connection waited in its backlog.
      if (connected || error.code === 'ECONNRESET') finish('released');
      else if (error.code === 'ECONNREFUSED') finish('dead');
      else if (error.code === 'ENOENT') finish('gone');
      else if (error.code === 'EAGAIN') finish('busy');
      else finish(error);
    });
  });
}

/** Whether a process listens on the socket file at `path` (`dead`: file there, nobody listens). */
function probe(path: string): Promise<'alive' | 'dead' | 'gone'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve('alive');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === 'ECONNREFUSED') resolve('dead');
      else if (error.code === 'ENOENT') resolve('gone');
      // A full backlog, or a close just now: someone listens, or did (never remove it).
      else if (error.code === 'EAGAIN' || error.code === 'ECONNRESET') resolve('alive');
      else reject(error);
    });
  });
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

const unique = (): string => `${process.pid}-${randomBytes(6).toString('hex')}`;

/**
 * Runs `flock <mode> <wait> 3` on `fd`; resolves with 0 (locked) or the conflict exit code
 * (busy or timed out).
 */
async function runFlock(name: string, path: string, fd: number, mode: '-s' | '-x', wait: readonly string[], signal: AbortSignal | undefined): Promise<number> {
  const argv = [FLOCK, mode, '-E', String(CONFLICT_EXIT_CODE), ...wait, '3'];
  try {
    const { exitCode } = await runner.run(argv, { extraFds: [fd], signal, okExitCodes: [0, CONFLICT_EXIT_CODE], maxOutputBytes: 64 * 1024 });
    return exitCode;
  } catch (error) {
    if (error instanceof AbortedError) throw lockAborted(name, signal!);
    if (error instanceof NotFoundError) {
      throw new UnavailableError('host-locks', `host locks need util-linux '${FLOCK}', which is not installed`, { cause: error });
    }
    throw new InternalError(`cannot lock host lock file ${path} for '${name}': ${(error as Error).message}`, { cause: error });
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
 * Where: a directory only its owner (root, for the kernel) can enter (mode 0700, checked; as
 * Proxmox keeps its lock files under /run/lock): no other local user can create, open or
 * connect to anything there, so no one else can take, hold or block a lock.
 *
 * How: the holder of `name` is whoever's listening unix socket is hard-linked at
 * `<hash>.sock` (the hash of scope and name). Why no two processes ever hold it at once:
 * - link(2) creates the name only if it does not exist, and only from a socket that already
 *   listens: one winner, and the name never points at a socket that is not listening yet.
 * - A holder releases by unlinking its name first and closing its socket after; so a name
 *   whose socket refuses connections (ECONNREFUSED) belongs to a holder that died (or lost
 *   its socket: its lease's `lost` signal then aborts).
 * - Such a dead name is removed only under an exclusive flock(2) on `<hash>.lock` (util-linux
 *   `flock`, run only then) and after a second refused connect under it: removers take turns,
 *   and while the dead name exists nobody else can link one, so what is unlinked is the dead
 *   name that was checked, never a live one. A reset or a full backlog never counts as dead.
 * - A shared holder takes the name, listens on a socket of its own with a unique name in
 *   `<hash>.shared/`, and lets the name go. An exclusive holder, once it has the name (so no
 *   shared holder can come in), waits until no socket there listens, removing dead ones
 *   (unique names: nobody recreates them).
 * So a holder that dies, even by SIGKILL, never leaves a stale lock: the next acquirer
 * removes what it left. Waiters stay connected to the holder's socket and retry the moment it
 * closes (no polling); the order between processes is not FIFO: put a
 * {@link LocalLockManager} in front for FIFO inside a process. Cost: a few system calls
 * (well under a millisecond); a `flock` run only after a holder died.
 *
 * The lease's `lost` signal aborts if a held socket is closed by anything but `release`.
 * Never delete files in the lock directory while Corral runs (a held lock could then be taken
 * twice); /run is emptied at reboot. A process killed between its listen and its link leaves
 * a `.<hash>.*.tmp` socket file behind (harmless).
 *
 * @throws LockTimeoutError after `timeoutMs` (default 10 s) without the lock.
 * @throws AbortedError when `signal` aborts first.
 * @throws InvalidArgumentError for an empty name, a negative/NaN timeout or an unknown mode.
 * @throws UnavailableError when the lock directory cannot be created, is not owned by this
 *   process's user, is open to others or is too long for unix socket paths, when a dead
 *   holder's lock must be removed and util-linux `flock` is not installed, or when this
 *   process (EMFILE) or the system (ENFILE) has no file descriptor left for a lock socket.
 *   A holder that runs out of descriptors keeps its lock (see `LockSocket`): waiters wait
 *   for its release, or time out.
 * @throws InternalError when a lock socket cannot be created or connected to for another
 *   reason.
 */
export async function acquireHostLock(name: string, options: HostLockOptions = {}): Promise<LockLease> {
  const { timeoutMs, mode } = validateLockArgs(name, options);
  const { signal } = options;
  if (signal?.aborted) throw lockAborted(name, signal);
  const directory = options.directory ?? defaultHostLockDirectory();
  const mainPath = hostLockPath(name, { scope: options.scope, directory });
  const hash = basename(mainPath, '.sock');
  const sharedDir = join(directory, `${hash}.shared`);
  if (join(sharedDir, `${unique()}.sock`).length > MAX_SOCKET_PATH) {
    throw new UnavailableError('host-locks', `host lock directory ${directory} is too long for unix socket paths (at most ${MAX_SOCKET_PATH - 75} bytes)`);
  }
  const deadline = performance.now() + timeoutMs;
  let pause = RETRY_MIN_MS;
  const waitOrGiveUp = async (): Promise<void> => {
    const left = deadline - performance.now();
    if (left <= 0) throw new LockTimeoutError(name, timeoutMs);
    try {
      await sleep(Math.min(left, pause * (0.5 + Math.random())), undefined, signal ? { signal } : undefined);
    } catch {
      throw lockAborted(name, signal!);
    }
    pause = Math.min(RETRY_MAX_MS, pause * 2);
  };
  /** Device and inode of the name this call linked (to unlink it only while it is still ours). */
  let linked: { dev: number; ino: number } | undefined;
  const fail = (what: string, error: unknown): InternalError | UnavailableError => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') {
      const whose = code === 'EMFILE' ? 'this process' : 'the system';
      return new UnavailableError('host-locks', `host lock '${name}': cannot ${what}: ${whose} is out of file descriptors (${code}); raise the open-file limit or close files`, { cause: error });
    }
    return new InternalError(`host lock '${name}': cannot ${what}: ${(error as Error).message}`, { cause: error });
  };

  /** Takes the name `<hash>.sock`, or returns null when it exists. */
  const takeName = async (): Promise<LockSocket | null> => {
    await ensureDirectory(directory);
    const temp = join(directory, `.${hash}.${unique()}.tmp`);
    let socket: LockSocket;
    try {
      socket = await LockSocket.listen(temp);
    } catch (error) {
      throw fail(`listen on ${temp}`, error);
    }
    try {
      await link(temp, mainPath);
    } catch (error) {
      await socket.close();
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw fail(`link ${mainPath}`, error);
    }
    // Nobody removes the name while the socket listens, so this is the inode just linked.
    const st = await lstat(mainPath);
    linked = { dev: st.dev, ino: st.ino };
    await unlink(temp).catch(ignoreMissing);
    return socket;
  };
  const releaseName = async (socket: LockSocket): Promise<void> => {
    // The name first: once the socket is closed, the name would look like a dead holder's.
    // Only while it is ours: once the socket failed, another process may have removed the
    // dead-looking name and linked its own.
    if (!socket.lost) {
      const st = await lstat(mainPath).catch(ignoreMissing);
      if (st && linked && st.dev === linked.dev && st.ino === linked.ino) await unlink(mainPath).catch(ignoreMissing);
    }
    await socket.close();
  };
  /**
   * Removes the name of a dead holder, under the flock that serializes such removals; false
   * when the flock was busy until the deadline (or the name was no longer dead).
   */
  const removeDeadName = async (): Promise<boolean> => {
    const lockPath = join(directory, `${hash}.lock`);
    const fd = await openLockFile(directory, lockPath);
    try {
      const left = Math.max(0, deadline - performance.now());
      const wait = !Number.isFinite(left) ? [] : left < 1 ? ['-n'] : ['-w', (left / 1000).toFixed(3)];
      if ((await runFlock(name, lockPath, fd, '-x', wait, signal)) !== 0) return false;
      // The only remover now, and nobody can link while the name exists: still dead is dead.
      if ((await probe(mainPath)) !== 'dead') return true;
      await unlink(mainPath).catch(ignoreMissing);
      return true;
    } finally {
      await closeFd(fd).catch(() => undefined);
    }
  };
  /** Waits for the holder whose socket is at `path` to go; `dead` when it had died (its file left). */
  const waitFor = async (path: string): Promise<'dead' | 'other'> => {
    let outcome: Awaited<ReturnType<typeof awaitHolder>>;
    try {
      outcome = await awaitHolder(path, deadline, signal);
    } catch (error) {
      throw fail(`connect to ${path}`, error);
    }
    if (outcome === 'timeout') throw new LockTimeoutError(name, timeoutMs);
    if (outcome === 'aborted') throw lockAborted(name, signal!);
    if (outcome === 'busy') await waitOrGiveUp();
    return outcome === 'dead' ? 'dead' : 'other';
  };

  let main: LockSocket | null = null;
  // One more try after a dead or departed holder, even past the deadline (timeoutMs 0 included).
  let retryNow = false;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw lockAborted(name, signal);
    if (attempt > 0 && performance.now() >= deadline && !retryNow) throw new LockTimeoutError(name, timeoutMs);
    main = await takeName();
    if (main) break;
    retryNow = false;
    if ((await waitFor(mainPath)) === 'dead') {
      // Another remover holding the flock past the deadline: no retry, the deadline applies.
      if (await removeDeadName()) retryNow = true;
      else await waitOrGiveUp();
    }
  }
  let held: LockSocket;
  try {
    if (mode === 'shared') {
      await mkdir(sharedDir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw fail(`create ${sharedDir}`, error);
      });
      const slotPath = join(sharedDir, `${unique()}.sock`);
      try {
        held = await LockSocket.listen(slotPath);
      } catch (error) {
        throw fail(`listen on ${slotPath}`, error);
      }
      await releaseName(main);
    } else {
      // Holding the name, so no shared holder comes in: wait for those there to go.
      for (let live = true; live; ) {
        live = false;
        for (const slot of await sharedHolders(sharedDir)) {
          // Dead ones are removed (their names are unique, and no shared holder is being added).
          if ((await waitFor(slot)) === 'dead') await unlink(slot).catch(() => undefined);
          else live = true;
        }
      }
      held = main;
    }
  } catch (error) {
    await releaseName(main);
    throw error;
  }
  let releasing = false;
  const controller = createLease(name, mode, async () => {
    releasing = true;
    // A shared socket's name is unique to it: closing (libuv unlinks it first) is enough.
    if (held === main) await releaseName(held);
    else await held.close();
  });
  held.onClose(() => {
    if (!releasing) controller.markLost('its host lock socket was closed');
  });
  return controller.lease;
}

/** Paths of the shared holders' sockets in `sharedDir` (none when it does not exist). */
async function sharedHolders(sharedDir: string): Promise<string[]> {
  try {
    return (await readdir(sharedDir)).map((entry) => join(sharedDir, entry));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new InternalError(`cannot list shared holders in ${sharedDir}: ${(error as Error).message}`, { cause: error });
  }
}

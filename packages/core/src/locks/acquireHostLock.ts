import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InternalError, LockTimeoutError, UnavailableError } from '../errors.js';
import { createLease, lockAborted, validateLockArgs } from './lockArgs.js';
import type { LockLease, LockOptions } from './LockManager.js';

/** First and largest pause between attempts on a busy host lock, ms. */
const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 20;
/** Prefix of every Corral lock socket name (abstract namespace). */
const ADDRESS_PREFIX = 'corral-lock/';

/**
 * The abstract unix-socket name (without the leading NUL) that represents lock `name` on this
 * host. Shared holders bind `<this>/r/<unique>` beside it.
 * @internal
 */
export function hostLockAddress(name: string): string {
  // Abstract names are limited to 107 bytes: hash the name.
  return `${ADDRESS_PREFIX}${createHash('sha1').update(name).digest('hex')}`;
}

function tryBind(address: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    // The socket is only a name: a process that connects to it (by mistake or on purpose) is
    // dropped at once, so it can never keep `close()`, and with it `release()`, waiting.
    const server = createServer((socket) => socket.destroy());
    server.maxConnections = 0;
    server.once('error', (error: NodeJS.ErrnoException) => {
      server.close();
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    });
    server.listen({ path: `\0${address}`, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * True when some process of this network namespace holds a shared slot of the lock at
 * `address`. Reads /proc/net/unix, where abstract names appear with a leading `@`.
 */
async function sharedHoldersExist(address: string): Promise<boolean> {
  let table: string;
  try {
    table = await readFile('/proc/net/unix', 'latin1');
  } catch (error) {
    throw new UnavailableError('host-locks', `cannot read /proc/net/unix to check shared lock holders: ${(error as Error).message}`, { cause: error });
  }
  return table.includes(` @${address}/r/`);
}

/** Options of {@link acquireHostLock}. */
export interface HostLockOptions extends LockOptions {
  /** Scope of `name` (e.g. a dataDir): the same name in different scopes are different locks. */
  readonly scope?: string;
}

/**
 * Takes a host-wide lock: among every process of this host (in the same network namespace)
 * that asks for the same `name`, one exclusive holder, or any number of shared ones.
 *
 * How: an exclusive holder binds a Linux abstract unix socket named after a hash of `name`.
 * The kernel refuses a second bind (EADDRINUSE) and frees the name the moment the holder
 * closes it or dies, even by SIGKILL: there are no stale lock files and no stale-lock
 * breaking race. A shared holder takes that socket for a moment, binds a slot socket of its
 * own beside it (`<name>/r/<unique>`) and lets the main socket go; an exclusive holder, once it
 * has the main socket (so no new shared holder can come in), waits until no slot is left
 * (checked in /proc/net/unix). Waiters retry with a growing pause (1 to 20 ms, jittered), so
 * the lock is not FIFO across processes; put a {@link LocalLockManager} in front for FIFO
 * inside a process.
 *
 * The lease's `lost` signal aborts if a held socket is closed by anything but `release`.
 *
 * WARNING: abstract sockets are scoped to a network namespace. Every process sharing the
 * protected state must run in the same one (the kernel's host namespace).
 *
 * WARNING: abstract socket names have no permissions, and the names in use are visible in
 * /proc/net/unix: any local process of the namespace can bind one first and so hold a lock
 * forever (a denial of service, never a way past a lock). Hosts that run untrusted local
 * users must keep them out of the kernel's network namespace.
 *
 * @throws LockTimeoutError after `timeoutMs` (default 10 s) without the lock.
 * @throws AbortedError when `signal` aborts first.
 * @throws UnavailableError when /proc/net/unix cannot be read (exclusive waits check it).
 * @throws InternalError when the socket cannot be bound for another reason than being taken.
 */
export async function acquireHostLock(name: string, options: HostLockOptions = {}): Promise<LockLease> {
  const { timeoutMs, mode } = validateLockArgs(name, options);
  const { signal } = options;
  const address = hostLockAddress(options.scope === undefined ? name : `${options.scope}\0${name}`);
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
  const bind = async (at: string): Promise<Server | null> => {
    try {
      return await tryBind(at);
    } catch (error) {
      throw new InternalError(`cannot bind host lock socket for '${name}'`, { cause: error });
    }
  };

  let main: Server | null = null;
  for (;;) {
    if (signal?.aborted) throw lockAborted(name, signal);
    main = await bind(address);
    if (main) break;
    await waitOrGiveUp();
  }
  let held: Server;
  try {
    if (mode === 'shared') {
      const slot = await bind(`${address}/r/${process.pid}-${randomBytes(6).toString('hex')}`);
      if (!slot) throw new InternalError(`host lock '${name}': a fresh shared slot name is taken`);
      await closeServer(main);
      held = slot;
    } else {
      pause = RETRY_MIN_MS;
      while (await sharedHoldersExist(address)) {
        if (signal?.aborted) throw lockAborted(name, signal);
        await waitOrGiveUp();
      }
      held = main;
    }
  } catch (error) {
    await closeServer(main);
    throw error;
  }
  let releasing = false;
  const controller = createLease(name, mode, async () => {
    releasing = true;
    await closeServer(held);
  });
  held.once('close', () => {
    if (!releasing) controller.markLost('its host lock socket was closed');
  });
  return controller.lease;
}

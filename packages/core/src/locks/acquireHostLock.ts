import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InternalError, LockTimeoutError } from '../errors.js';
import { lockAborted, validateLockArgs } from './lockArgs.js';
import type { LockOptions, LockRelease } from './LockManager.js';

/** First and largest pause between attempts on a busy host lock, ms. */
const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 20;

/**
 * The abstract unix-socket name that represents lock `name` on this host.
 * @internal
 */
export function hostLockAddress(name: string): string {
  // Abstract names are limited to 107 bytes: hash the name.
  return `\0corral-lock/${createHash('sha1').update(name).digest('hex')}`;
}

function tryBind(address: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      server.close();
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    });
    server.listen({ path: address, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** Options of {@link acquireHostLock}. */
export interface HostLockOptions extends LockOptions {
  /** Scope of `name` (e.g. a dataDir): the same name in different scopes are different locks. */
  readonly scope?: string;
}

/**
 * Takes a host-wide lock: exclusive among every process of this host (in the same network
 * namespace) that asks for the same `name`.
 *
 * How: the holder binds a Linux abstract unix socket named after a hash of `name`. The
 * kernel refuses a second bind (EADDRINUSE) and frees the name the moment the holder closes
 * it or dies, even by SIGKILL: there are no stale lock files and no stale-lock breaking
 * race. Waiters retry with a growing pause (1 to 20 ms, jittered), so the lock is not FIFO
 * across processes; put a {@link LocalLockManager} in front for FIFO inside a process.
 *
 * WARNING: abstract sockets are scoped to a network namespace. Every process sharing the
 * protected state must run in the same one (the kernel's host namespace).
 *
 * @throws LockTimeoutError after `timeoutMs` (default 10 s) without the lock.
 * @throws AbortedError when `signal` aborts first.
 */
export async function acquireHostLock(name: string, options: HostLockOptions = {}): Promise<LockRelease> {
  const timeoutMs = validateLockArgs(name, options);
  const { signal } = options;
  const address = hostLockAddress(options.scope === undefined ? name : `${options.scope}\0${name}`);
  const deadline = performance.now() + timeoutMs;
  let pause = RETRY_MIN_MS;
  for (;;) {
    if (signal?.aborted) throw lockAborted(name, signal);
    let server: Server | null;
    try {
      server = await tryBind(address);
    } catch (error) {
      throw new InternalError(`cannot bind host lock socket for '${name}'`, { cause: error });
    }
    if (server) {
      const held = server;
      let released = false;
      return () => {
        if (released) return Promise.resolve();
        released = true;
        return new Promise<void>((resolve) => held.close(() => resolve()));
      };
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new LockTimeoutError(name, timeoutMs);
    const wait = Math.min(left, pause * (0.5 + Math.random()));
    try {
      await sleep(wait, undefined, signal ? { signal } : undefined);
    } catch {
      throw lockAborted(name, signal!);
    }
    pause = Math.min(RETRY_MAX_MS, pause * 2);
  }
}

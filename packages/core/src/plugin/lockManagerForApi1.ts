import type { LockLease, LockManager, LockOptions } from '../locks/LockManager.js';

/**
 * A lease as plugin API 1 knew it: calling it releases the lock (API 1's
 * `acquire` resolved to `() => Promise<void>`), and it is also a current {@link LockLease}.
 */
export type Api1LockLease = LockLease & (() => Promise<void>);

/**
 * The lock manager a plugin declaring `apiVersion: 1` gets from `env.get(coreServices.lockManager)`:
 * `locks` itself, except that {@link LockManager.acquire} resolves to an {@link Api1LockLease},
 * so API 1 code that calls the result to release keeps working. `withLock` passes the lease
 * to `fn`, which API 1 code ignores. Modes, timeouts, errors and the lost signal are those
 * of `locks`.
 */
export function lockManagerForApi1(locks: LockManager): LockManager {
  return {
    acquire: async (name: string, options?: LockOptions): Promise<LockLease> => callableLease(await locks.acquire(name, options)),
    withLock: (name, fn, options) => locks.withLock(name, fn, options),
  };
}

function callableLease(lease: LockLease): Api1LockLease {
  const release = () => lease.release();
  return Object.defineProperties(release, {
    name: { value: lease.name, enumerable: true },
    mode: { value: lease.mode, enumerable: true },
    lost: { value: lease.lost, enumerable: true },
    release: { value: release, enumerable: true },
  }) as Api1LockLease;
}

/**
 * One test server per test file: `useTestServer(test, name, available, start)` starts it in a
 * serial `before` hook (in a private temp dir) and stops it in `after.always`; the getter
 * throws when it is not running (its programs are missing). Servers of the same `name` use
 * fixed host resources (rpcbind registrations, port 445), so the hook first takes the host
 * lock `name` (core's host lock, namespace `corral-test-servers`) and holds it until the server
 * is stopped: test files that ava runs in parallel take turns; a holder that dies releases it.
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { rm } from 'node:fs/promises';
import { HostLockManager } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';

/** How long a test file waits for another file's server of the same name, ms. */
const SERVER_LOCK_WAIT_MS = 15 * 60_000;

export function useTestServer<S extends { stop(): Promise<void> }>(
  test: TestFn,
  name: string,
  available: boolean,
  start: (dir: string) => Promise<S>
): () => S {
  let server: S | undefined;
  let dir: string | undefined;
  let release: (() => Promise<void>) | undefined;
  test.serial.before(async () => {
    if (!available) return;
    const lease = await new HostLockManager({ namespace: 'corral-test-servers' }).acquire(name, { timeoutMs: SERVER_LOCK_WAIT_MS });
    release = () => lease.release();
    dir = await makeTempDir(undefined, 'corral-share-');
    server = await start(dir);
  });
  test.after.always(async () => {
    try {
      await server?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    } finally {
      await release?.();
    }
  });
  return () => {
    if (!server) throw new Error('the test server is not running');
    return server;
  };
}

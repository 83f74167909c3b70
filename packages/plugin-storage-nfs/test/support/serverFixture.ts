/**
 * One test server per test file: `useTestServer(test, available, start)` starts it in a serial
 * `before` hook (in a private temp dir) and stops it in `after.always`; the getter throws when
 * it is not running (its programs are missing).
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { rm } from 'node:fs/promises';
import { makeTempDir } from '@corral/core/testing';

export function useTestServer<S extends { stop(): Promise<void> }>(test: TestFn, available: boolean, start: (dir: string) => Promise<S>): () => S {
  let server: S | undefined;
  let dir: string | undefined;
  test.serial.before(async () => {
    if (!available) return;
    dir = await makeTempDir(undefined, 'corral-share-');
    server = await start(dir);
  });
  test.after.always(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!server) throw new Error('the test server is not running');
    return server;
  };
}

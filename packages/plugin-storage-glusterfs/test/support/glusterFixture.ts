/**
 * The GlusterFS server of a test file: started in a serial `before` hook in a private temp
 * dir, stopped in `after.always`. Each server has its own namespace, address and directories,
 * so test files run in parallel; the host lock `glusterfs-<address>` (core's host lock,
 * namespace `corral-test-servers`) keeps two runs that drew the same address apart.
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { rm } from 'node:fs/promises';
import { HostLockManager } from '@corral/core';
import { hasProgram, makeTempDir, realTest, type RealTestFn } from '@corral/core/testing';
import { GLUSTER_TEST_PROGRAMS, randomServerAddress, startGlusterServer, type GlusterServer } from './GlusterServer.js';

/** True when the server and client programs are installed. */
export const glusterAvailable = GLUSTER_TEST_PROGRAMS.every((p) => hasProgram(p));

/** Why the GlusterFS tests cannot run here. */
export const GLUSTER_MISSING_REASON = `needs ${GLUSTER_TEST_PROGRAMS.join(', ')} (Debian packages glusterfs-server glusterfs-client qemu-utils qemu-block-extra iproute2 util-linux)`;

/** Registrar for tests needing the server (skip locally, fail in CI when it is missing). */
export function glusterRealTest(test: TestFn): RealTestFn {
  return realTest(test, glusterAvailable, GLUSTER_MISSING_REASON);
}

/** Starts a server before the file's tests, stops it after them. */
export function useGlusterServer(test: TestFn): () => GlusterServer {
  let server: GlusterServer | undefined;
  let dir: string | undefined;
  let release: (() => Promise<void>) | undefined;
  test.serial.before(async () => {
    if (!glusterAvailable) return;
    const address = randomServerAddress();
    const lease = await new HostLockManager({ namespace: 'corral-test-servers' }).acquire(`glusterfs-${address}`, { timeoutMs: 15 * 60_000 });
    release = () => lease.release();
    dir = await makeTempDir(undefined, 'corral-gluster-');
    server = await startGlusterServer(dir, address);
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
    if (!server) throw new Error('the GlusterFS test server is not running');
    return server;
  };
}

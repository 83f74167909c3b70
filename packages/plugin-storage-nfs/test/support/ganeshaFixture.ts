/**
 * One ganesha server per test file: `useGaneshaServer(test)` starts it in a serial `before`
 * hook and stops it (by pid) in `after.always`; the getter throws when it is not running.
 *
 * @packageDocumentation
 */
import type { TestFn } from "ava";
import { rm } from "node:fs/promises";
import {
  hasProgram,
  makeTempDir,
  realTest,
  type RealTestFn,
} from "@corral/core/testing";
import {
  GANESHA_TEST_PROGRAMS,
  startGaneshaServer,
  type GaneshaServer,
} from "./GaneshaServer.js";

/** True when the server and client programs are installed. */
export const ganeshaAvailable = GANESHA_TEST_PROGRAMS.every((p) =>
  hasProgram(p)
);

/** Why the NFS tests cannot run here. */
export const GANESHA_MISSING_REASON = `needs ${GANESHA_TEST_PROGRAMS.join(
  ", "
)} (Debian packages nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-utils qemu-utils qemu-block-extra)`;

/** Registrar for tests needing the server (skip locally, fail in CI when it is missing). */
export function ganeshaRealTest(test: TestFn): RealTestFn {
  return realTest(test, ganeshaAvailable, GANESHA_MISSING_REASON);
}

/** Starts the server before the file's tests, stops it after them. */
export function useGaneshaServer(test: TestFn): () => GaneshaServer {
  let server: GaneshaServer | undefined;
  let dir: string | undefined;
  test.serial.before(async () => {
    if (!ganeshaAvailable) return;
    dir = await makeTempDir(undefined, "corral-nfs-");
    server = await startGaneshaServer(dir);
  });
  test.after.always(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!server) throw new Error("the ganesha test server is not running");
    return server;
  };
}

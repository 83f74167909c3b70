/**
 * The nfs-ganesha server of a test file (see {@link useTestServer}).
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { hasProgram, realTest, type RealTestFn } from '@corral/core/testing';
import { GANESHA_TEST_PROGRAMS, startGaneshaServer, type GaneshaServer } from './GaneshaServer.js';
import { useTestServer } from './serverFixture.js';

/** True when the server and client programs are installed. */
export const ganeshaAvailable = GANESHA_TEST_PROGRAMS.every((p) => hasProgram(p));

/** Why the NFS tests cannot run here. */
export const GANESHA_MISSING_REASON = `needs ${GANESHA_TEST_PROGRAMS.join(
  ', '
)} (Debian packages nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-utils qemu-utils qemu-block-extra qemu-system-x86)`;

/** Registrar for tests needing the server (skip locally, fail in CI when it is missing). */
export function ganeshaRealTest(test: TestFn): RealTestFn {
  return realTest(test, ganeshaAvailable, GANESHA_MISSING_REASON);
}

/** Starts ganesha before the file's tests, stops it after them. */
export function useGaneshaServer(test: TestFn): () => GaneshaServer {
  return useTestServer(test, 'nfs-ganesha', ganeshaAvailable, startGaneshaServer);
}

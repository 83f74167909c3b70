/**
 * The smbd server of a test file (see {@link useTestServer}), and the cifs stand-in mounter.
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { hasProgram, realTest, type RealTestFn } from '@corral/core/testing';
import { SMBD_TEST_PROGRAMS, startSmbdServer, type SmbdServer } from './SmbdServer.js';
import { useTestServer } from './serverFixture.js';

/** True when smbd and the client programs are installed. */
export const smbdAvailable = SMBD_TEST_PROGRAMS.every((p) => hasProgram(p));

/** Why the CIFS tests cannot run here. */
export const SMBD_MISSING_REASON = `needs ${SMBD_TEST_PROGRAMS.join(', ')} (Debian packages samba smbclient qemu-utils)`;

/** Registrar for tests needing the server (skip locally, fail in CI when it is missing). */
export function smbdRealTest(test: TestFn): RealTestFn {
  return realTest(test, smbdAvailable, SMBD_MISSING_REASON);
}

/** Starts smbd before the file's tests, stops it after them. */
export function useSmbdServer(test: TestFn): () => SmbdServer {
  return useTestServer(test, 'smbd', smbdAvailable, startSmbdServer);
}

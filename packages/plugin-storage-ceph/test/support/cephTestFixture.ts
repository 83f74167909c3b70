/**
 * One test Ceph cluster per test file: `useCephTestCluster(test)` registers a `before` hook
 * starting it and an `after.always` hook stopping it (daemons killed by pid), and returns a
 * getter; `cephRealTest(test)` is the file's registrar for tests that need it.
 *
 * @packageDocumentation
 */
import type { TestFn } from 'ava';
import { readFile, rm } from 'node:fs/promises';
import { hasProgram, makeTempDir, realTest, type RealTestFn } from '@corral/core/testing';
import { CEPH_TEST_PROGRAMS, startCephTestCluster, type CephTestCluster } from './CephTestCluster.js';

/** True when the Ceph daemons and tools are installed. */
export const cephAvailable = CEPH_TEST_PROGRAMS.every((p) => hasProgram(p));

/** Why Ceph tests cannot run here. */
export const CEPH_MISSING_REASON = `needs ${CEPH_TEST_PROGRAMS.join(', ')} (Debian packages ceph-mon ceph-mgr ceph-osd ceph-common)`;

/** Test registrar for tests needing the cluster (skip locally, fail in CI when Ceph is missing). */
export function cephRealTest(test: TestFn): RealTestFn {
  return realTest(test, cephAvailable, CEPH_MISSING_REASON);
}

/** A running cluster and the client keyring's text (the `keyring` secret of a storage). */
export interface CephFixture {
  readonly cluster: CephTestCluster;
  readonly keyring: string;
}

/**
 * Starts a cluster before the file's tests and stops it after them. The getter throws when
 * the cluster is not running (Ceph missing).
 */
export function useCephTestCluster(test: TestFn): () => CephFixture {
  let fixture: CephFixture | undefined;
  let dir: string | undefined;
  // serial: other before hooks of the file (registered serial too) run after the cluster is up.
  test.serial.before(async () => {
    if (!cephAvailable) return;
    dir = await makeTempDir(undefined, 'corral-ceph-');
    const cluster = await startCephTestCluster({ dir });
    fixture = { cluster, keyring: await readFile(cluster.keyringPath, 'utf8') };
  });
  test.after.always(async () => {
    await fixture?.cluster.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!fixture) throw new Error('the ceph test cluster is not running');
    return fixture;
  };
}

/** Options of an rbd storage on the test cluster as an external cluster: pool, monhost, username, keyring (secret). */
export function externalRbdOptions(f: CephFixture, extra: Record<string, string> = {}): Record<string, string> {
  return { pool: f.cluster.pool, monhost: f.cluster.monHost, username: f.cluster.clientId, keyring: f.keyring, content: 'images,rootdir', ...extra };
}

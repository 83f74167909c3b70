/**
 * The zfs-fuse test pool harness of @corral/plugin-storage-zfs (its `test/support/ZfsTestPool`),
 * loaded from that package's build output: a test file of another package cannot import it
 * by a relative specifier that works both for tsc (source tree) and at run time (dist tree).
 *
 * @packageDocumentation
 */
import type * as ZfsTestPoolModule from '../../../plugin-storage-zfs/test/support/ZfsTestPool.js';

export type { ZfsTestPool } from '../../../plugin-storage-zfs/test/support/ZfsTestPool.js';

/** The harness module (`createZfsTestPool`, `ensureZfsFuse`, ...), from packages/plugin-storage-zfs/dist/test/support. */
export async function loadZfsTestPool(): Promise<typeof ZfsTestPoolModule> {
  // Compiled, this file is packages/plugin-lxc/dist/test/support/zfsTestPool.js.
  const url = new URL('../../../../plugin-storage-zfs/dist/test/support/ZfsTestPool.js', import.meta.url);
  return (await import(url.href)) as typeof ZfsTestPoolModule;
}

/**
 * A guest operation whose lock is lost midway (as a cluster lock whose lease expired) stops,
 * undoes what it did and fails with the loss: it never finishes unprotected.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostLockManager, LockLostError, LockManagerBase, type LockLease, type LockOptions } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { addLocalStorage, openNodeKernel, tinyVmConfig } from './support/nodeKernel.js';
import { checkStorageInvariants } from './support/storageInvariants.js';

/** Host locks whose guest leases are lost when `expire` resolves (as a cluster lease that ran out). */
class ExpiringGuestLocks extends LockManagerBase {
  constructor(
    private readonly inner: HostLockManager,
    private readonly expire: Promise<void>,
  ) {
    super();
  }
  async acquire(name: string, options?: LockOptions): Promise<LockLease> {
    const lease = await this.inner.acquire(name, options);
    if (!name.startsWith('guest:')) return lease;
    const lost = new AbortController();
    void this.expire.then(() => lost.abort(new LockLostError(name, 'the lease expired')));
    return { name, mode: lease.mode, lost: lost.signal, release: () => lease.release() };
  }
}

/** Resolves once `path` exists (the copy into it has begun). */
async function appears(path: string): Promise<void> {
  while (!existsSync(path)) await sleep(1);
}

test('a full clone whose guest lock is lost stops, frees what it copied and leaves no clone config', async (t) => {
  const base = await makeTempDir(t, 'corral-lost-');
  const plain = await openNodeKernel(base);
  await addLocalStorage(plain, base);
  await plain.guests.create('qemu', tinyVmConfig({ scsi0: 'local:0.5,format=raw' }), { vmid: 100 });
  const volid = (await plain.guests.config(100)).config.scsi0!.split(',')[0]!;
  const path = ((await plain.storage.resolve(volid, { consumer: 'host' })) as { path: string }).path;
  const fh = await open(path, 'r+');
  const chunk = Buffer.alloc(4 * 1024 * 1024, 7);
  for (let off = 0; off < 512 * 1024 * 1024; off += chunk.length) await fh.write(chunk, 0, chunk.length, off);
  await fh.close();
  await plain.dispose();

  // The leases run out once the copy has begun: the target file exists, its 512 MiB not yet copied.
  const target = join(dirname(dirname(path)), '101', 'vm-101-disk-0.raw');
  const kernel = await openNodeKernel(base, { lockManager: new ExpiringGuestLocks(new HostLockManager({ namespace: `lost-test:${base}` }), appears(target)) });
  t.teardown(() => kernel.dispose());
  const t0 = performance.now();
  const err = await t.throwsAsync(kernel.guests.clone(100, { newid: 101, full: true }));
  t.log(`failed after ${(performance.now() - t0).toFixed(0)} ms: ${err!.message}`);
  t.is((err as { code?: string }).code, 'CORRAL_ERR_LOCK_LOST');
  t.regex(err!.message, /lock 'guest:10[01]' was lost/);
  t.false(
    (await kernel.guests.list()).some((g) => g.vmid === 101),
    'no clone config',
  );
  t.deepEqual(await kernel.storage.listVolumes('local', { vmid: 101 }), [], 'the copy was freed');
  t.deepEqual(await checkStorageInvariants(kernel), { orphans: [], dangling: [], leftovers: [] });
});

/**
 * The guest facade's locking on real containers: the persistent `lock:` key (a crash leaves
 * it visible, `unlock` clears it), waiters on the guest lock time out with a clear error,
 * a stale digest is refused, and concurrent config updates all land.
 */
import test from 'ava';
import { coreServices, guestLockName, ROOT_CALLER } from '@corral/core';
import { realTest } from '@corral/core/testing';
import { lxcAvailable, lxcEnv, lxcMissingReason, randomVmid } from '../support/lxcTestEnv.js';

const lxcTest = realTest(test, lxcAvailable, lxcMissingReason);
const TEMPLATE = 'local:vztmpl/busybox.tar.gz';

lxcTest.serial('a lock: key left by a crash blocks operations until unlock', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1' }, { caller: ROOT_CALLER, vmid });

  // Simulate a snapshot task that died half-way: the config carries `lock: snapshot`.
  const path = `nodes/testnode/lxc/${vmid}.conf`;
  const file = (await kernel.config.read(path))!;
  await kernel.config.write(path, `${file.content}lock: snapshot\n`, { expectedDigest: file.digest });

  const err = await t.throwsAsync(kernel.guests.start(vmid), { code: 'CORRAL_ERR_LOCKED' });
  t.regex(err!.message, new RegExp(`guest ${vmid} is locked \\(snapshot\\)`));
  await t.throwsAsync(kernel.guests.update(vmid, { set: { memory: 256 } }, { caller: ROOT_CALLER }), { code: 'CORRAL_ERR_LOCKED' });
  await t.throwsAsync(kernel.guests.destroy(vmid), { code: 'CORRAL_ERR_LOCKED' });
  t.is((await kernel.guests.list()).find((g) => g.vmid === vmid)?.lock, 'snapshot');

  await kernel.guests.unlock(vmid);
  t.false('lock' in (await kernel.guests.config(vmid)).config);
  await kernel.guests.start(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'running');
  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
});

lxcTest.serial('a waiter on a busy guest lock times out with LockTimeoutError; a stale digest is refused', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1', memory: 128 }, { caller: ROOT_CALLER, vmid });

  const lease = await kernel.get(coreServices.lockManager).acquire(guestLockName(vmid));
  const err = await t.throwsAsync(kernel.guests.update(vmid, { set: { memory: 256 } }, { caller: ROOT_CALLER, lockTimeoutMs: 200 }), {
    code: 'CORRAL_ERR_LOCK_TIMEOUT',
  });
  t.regex(err!.message, new RegExp(`guest:${vmid}' within 200 ms`));
  await lease.release();

  const { digest } = await kernel.guests.config(vmid);
  await kernel.guests.update(vmid, { set: { memory: 256 }, digest }, { caller: ROOT_CALLER });
  const stale = await t.throwsAsync(kernel.guests.update(vmid, { set: { memory: 512 }, digest }, { caller: ROOT_CALLER }), {
    code: 'CORRAL_ERR_DIGEST_MISMATCH',
  });
  t.regex(stale!.message, /modified by someone else/);
  t.is((await kernel.guests.config(vmid)).config.memory, '256');

  // 20 concurrent updates queue on the guest lock and all succeed, each as its own task
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      kernel.guests.update(vmid, { set: { cores: (i % 4) + 1, [`mp${i % 2}`]: '/tmp,mp=/mnt/x' + i } }, { caller: ROOT_CALLER }).catch((e: Error) => e),
    ),
  );
  t.deepEqual(
    results.filter((r) => r instanceof Error),
    [],
  );
  const tasks = await kernel.tasks.list({ limit: 200 });
  t.is(tasks.filter((x) => x.id === String(vmid) && x.type === 'vzconfig' && x.status === 'ok').length, 21, 'one update with the digest + 20 concurrent ones');
  await kernel.guests.destroy(vmid);
});

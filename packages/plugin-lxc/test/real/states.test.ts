/**
 * Real containers in the wrong state, clean shutdown and its timeout, reboot, the console
 * stream, bad configs that must leave nothing behind, snapshots on a storage that cannot.
 */
import { ROOT_CALLER } from '@corral/core';
import test from 'ava';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { realTest } from '@corral/core/testing';
import { lxcAvailable, lxcEnv, lxcMissingReason, privateBridge, randomVmid } from '../support/lxcTestEnv.js';

const lxcTest = realTest(test, lxcAvailable, lxcMissingReason);
const TEMPLATE = 'local:vztmpl/busybox.tar.gz';

lxcTest.serial('wrong states: start running, stop stopped, destroy running', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1' }, { caller: ROOT_CALLER, vmid });
  await t.throwsAsync(kernel.guests.stop(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  await t.throwsAsync(kernel.guests.shutdown(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  await t.throwsAsync(kernel.guests.suspend(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  await kernel.guests.start(vmid);
  t.is((await kernel.guests.exec(vmid, ['hostname'])).stdout.trim(), `CT${vmid}`);
  await t.throwsAsync(kernel.guests.start(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  await t.throwsAsync(kernel.guests.resume(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  await t.throwsAsync(kernel.guests.destroy(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });
  t.is((await kernel.guests.status(vmid)).state, 'running');
  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
});

lxcTest.serial('clean shutdown, and a shutdown the init ignores: TimeoutError, still running, then forced', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1' }, { caller: ROOT_CALLER, vmid, start: true });
  await kernel.guests.shutdown(vmid, { timeoutMs: 20_000 });
  t.is((await kernel.guests.status(vmid)).state, 'stopped');

  // busybox init ignores SIGWINCH: asked to halt with it, the container stays up.
  await kernel.guests.update(vmid, { set: { 'lxc.signal.halt': 'SIGWINCH' } }, { caller: ROOT_CALLER });
  await kernel.guests.start(vmid);
  const pid = (await kernel.guests.status(vmid)).pid;
  // The shutdown gives up on its own timeout (the TimeoutError names it), leaving the container up.
  const err = await t.throwsAsync(kernel.guests.shutdown(vmid, { timeoutMs: 1000 }), { code: 'CORRAL_ERR_TIMEOUT' });
  t.is((err as { timeoutMs?: number } | undefined)?.timeoutMs, 1000);
  const st = await kernel.guests.status(vmid);
  t.is(st.state, 'running');
  t.is(st.pid, pid);
  await kernel.guests.shutdown(vmid, { timeoutMs: 1000, forceStop: true });
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  await kernel.guests.destroy(vmid);
});

lxcTest.serial('reboot gives a new init; the console is a stream to the container console', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1', hostname: 'rebooter' }, { caller: ROOT_CALLER, vmid, start: true });
  const before = await kernel.guests.status(vmid);
  await kernel.guests.reboot(vmid, { timeoutMs: 20_000 });
  const after = await kernel.guests.status(vmid);
  t.is(after.state, 'running');
  t.not(after.pid, before.pid);
  t.is((await kernel.guests.exec(vmid, ['hostname'])).stdout.trim(), 'rebooter');

  const endpoint = await kernel.guests.console(vmid, 'console');
  t.is(endpoint.kind, 'stream');
  const stream = (endpoint as { stream: Duplex }).stream;
  let seen = '';
  const found = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no marker on the console; saw: ${JSON.stringify(seen)}`)), 10_000);
    stream.on('data', (d: Buffer) => {
      seen += d.toString('utf8');
      if (seen.includes('console-marker-42')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  stream.write('\necho console-marker-$((6*7))\n');
  await found;
  stream.end();
  await new Promise((r) => stream.once('close', r));
  await t.throwsAsync(kernel.guests.console(vmid, 'vnc'), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  await kernel.guests.stop(vmid);
  await kernel.guests.destroy(vmid);
});

lxcTest.serial('bad configs fail before anything starts, naming the key, leaving no config and no volume', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const br = await privateBridge(t);
  const cases: Array<{ config: Record<string, string | number>; key: string }> = [
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', foo: 1 }, key: 'foo' },
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', memory: 8 }, key: 'memory' },
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', memory: '1G' }, key: 'memory' },
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', net0: `bridge=${br.name}` }, key: 'net0' },
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', net0: `name=eth0,bridge=${br.name},ip=10.1.2.3` }, key: 'net0' },
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', 'lxc.not.a.key': 'x' }, key: 'lxc.not.a.key' },
    { config: { ostemplate: 'local:vztmpl/missing.tar.gz', rootfs: 'local:1' }, key: 'ostemplate' },
    { config: { ostemplate: TEMPLATE, rootfs: 'local:1', password: 'abc' }, key: 'password' },
  ];
  for (const c of cases) {
    const vmid = randomVmid();
    const err = await t.throwsAsync(kernel.guests.create('lxc', c.config, { caller: ROOT_CALLER, vmid }), { code: 'CORRAL_ERR_INVALID_CONFIG' });
    t.is((err as unknown as { key: string }).key, c.key, err?.message);
    t.true(err!.message.includes(c.key), err!.message);
  }
  t.deepEqual(await kernel.guests.list(), []);
  t.deepEqual(await kernel.storage.listVolumes('local', { content: 'rootdir' }), []);
  const images = join(env.storePath, 'images');
  t.deepEqual(existsSync(images) ? await readdir(images) : [], []);

  // A config that is valid but cannot run here: a bridge that does not exist. It fails at start, naming net0, and nothing runs.
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1', net0: 'name=eth0,bridge=corbrnone0' }, { caller: ROOT_CALLER, vmid });
  const err = await t.throwsAsync(kernel.guests.start(vmid), { code: 'CORRAL_ERR_INVALID_CONFIG' });
  t.is((err as unknown as { key: string }).key, 'net0');
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  t.false(existsSync(join(kernel.dir, 'run', 'lxc', String(vmid), 'config')));
  await kernel.guests.destroy(vmid);
});

lxcTest.serial('snapshots of a dir-storage container are refused by the facade (subvols cannot snapshot)', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  await kernel.guests.create('lxc', { ostemplate: TEMPLATE, rootfs: 'local:1' }, { caller: ROOT_CALLER, vmid });
  await t.throwsAsync(kernel.guests.snapshot(vmid, 'first'), { code: 'CORRAL_ERR_NOT_SUPPORTED' });
  t.deepEqual(await kernel.guests.listSnapshots(vmid), []);
  t.false('lock' in (await kernel.guests.config(vmid)).config);
  await kernel.guests.destroy(vmid);
});

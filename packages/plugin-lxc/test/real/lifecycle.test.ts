/**
 * Real containers (LXC 5 on the host, busybox template): create from a template, start,
 * exec, networking over a private bridge, the unprivileged id map, freeze, console, reboot,
 * stop, re-attach from a new kernel, destroy.
 */
import { ROOT_CALLER } from '@corral/core';
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { realTest } from '@corral/core/testing';
import { sha512Crypt } from '../../src/setup/sha512Crypt.js';
import { execFile, lxcAvailable, lxcEnv, lxcMissingReason, peerNamespace, privateBridge, randomVmid, reopenKernel } from '../support/lxcTestEnv.js';

const lxcTest = realTest(test, lxcAvailable, lxcMissingReason);
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0Yh3gwCorralTestKeyOnly corral@test';

lxcTest.serial('unprivileged container: create from template, start, exec, ping, id map, freeze, re-attach, stop, destroy', async (t) => {
  const env = await lxcEnv(t);
  const { kernel } = env;
  const br = await privateBridge(t);
  const vmid = randomVmid();
  env.track(vmid);
  const ip = `${br.net}.${10 + (vmid % 200)}`;
  await kernel.guests.create(
    'lxc',
    {
      ostemplate: 'local:vztmpl/busybox.tar.gz',
      rootfs: 'local:1',
      hostname: 'corral-ct',
      unprivileged: 1,
      memory: 128,
      net0: `name=eth0,bridge=${br.name},ip=${ip}/24,gw=${br.hostIp}`,
      password: 'corral-secret',
      'ssh-public-keys': SSH_KEY,
    },
    { caller: ROOT_CALLER, vmid },
  );
  const view = await kernel.guests.config(vmid);
  t.false('ostemplate' in view.config, 'create parameters are not config keys');
  t.false('password' in view.config);
  t.regex(view.config.net0!, /hwaddr=BC:24:11:/, 'a MAC address is generated at create');
  t.regex(view.config.rootfs!, /^local:\d+\/subvol-\d+-disk-0\.subvol,size=1G$/);
  const rootfs = (await kernel.storage.resolve(view.config.rootfs!.split(',')[0]!, { consumer: 'container' })) as { kind: 'directory'; path: string };

  // Ownership shifted into the container's range, password and keys written.
  t.is((await stat(join(rootfs.path, 'bin', 'busybox'))).uid, 100000);
  t.is((await stat(rootfs.path)).uid, 100000);
  const hash = (await readFile(join(rootfs.path, 'etc', 'shadow'), 'utf8')).split('\n')[0]!.split(':')[1]!;
  t.is(sha512Crypt('corral-secret', { salt: hash.split('$')[2]! }), hash);
  t.is(await readFile(join(rootfs.path, 'root', '.ssh', 'authorized_keys'), 'utf8'), `${SSH_KEY}\n`);
  t.is((await stat(join(rootfs.path, 'root', '.ssh', 'authorized_keys'))).uid, 100000);

  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  await kernel.guests.start(vmid);
  const st = await kernel.guests.status(vmid);
  t.is(st.state, 'running');
  t.true(st.pid! > 1);
  t.is(st.maxMemoryBytes, 128 * 1024 * 1024);

  // Inside: hostname, address; outside: ping through the private bridge.
  const host = await kernel.guests.exec(vmid, ['hostname']);
  t.is(host.exitCode, 0);
  t.is(host.stdout.trim(), 'corral-ct');
  const addr = await kernel.guests.exec(vmid, ['ip', '-4', 'addr', 'show', 'eth0']);
  t.true(addr.stdout.includes(`${ip}/24`), addr.stdout);
  const fail = await kernel.guests.exec(vmid, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.deepEqual(fail, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  const ping = await execFile('busybox', ['ping', '-c', '1', '-W', '2', ip]);
  t.regex(ping.stdout, /1 packets received/);
  const pingOut = await kernel.guests.exec(vmid, ['ping', '-c', '1', '-W', '2', br.hostIp]);
  t.is(pingOut.exitCode, 0, pingOut.stdout + pingOut.stderr);

  // The host side of the veth was plugged into the bridge (core's NIC plugging, from LXC's
  // start-host hook); the container reaches a peer network namespace on the same bridge.
  t.is(basename(await readlink(`/sys/class/net/veth${vmid}i0/master`)), br.name);
  const peer = await peerNamespace(t, br.name, `${br.net}.251`);
  const pingPeer = await kernel.guests.exec(vmid, ['ping', '-c', '1', '-W', '2', peer.ip]);
  t.is(pingPeer.exitCode, 0, pingPeer.stdout + pingPeer.stderr);

  // A reboot re-creates the veth without a kernel asking: the hook plugs it from what the start recorded.
  await kernel.guests.reboot(vmid, { timeoutMs: 30_000 });
  t.is(basename(await readlink(`/sys/class/net/veth${vmid}i0/master`)), br.name);
  const pingAfterReboot = await kernel.guests.exec(vmid, ['ping', '-c', '1', '-W', '2', peer.ip]);
  t.is(pingAfterReboot.exitCode, 0, pingAfterReboot.stdout + pingAfterReboot.stderr);

  // Live NIC changes reach the veth at once (core's ctx.network.update): a rate limit, link_down.
  const net0 = (await kernel.guests.config(vmid)).config.net0!;
  const limited = await kernel.guests.update(vmid, { set: { net0: `${net0},rate=1` } });
  t.deepEqual(limited.applied, ['net0']);
  t.regex((await execFile('tc', ['class', 'show', 'dev', `veth${vmid}i0`])).stdout, /htb 1:1 .*rate 8388Kbit/);
  const down = await kernel.guests.update(vmid, { set: { net0: `${net0},link_down=1` } });
  t.deepEqual(down.applied, ['net0']);
  t.is((await readFile(`/sys/class/net/veth${vmid}i0/operstate`, 'utf8')).trim(), 'down');
  t.not((await kernel.guests.exec(vmid, ['ping', '-c', '1', '-W', '1', peer.ip])).exitCode, 0, 'no traffic over a link that is down');
  t.deepEqual((await kernel.guests.update(vmid, { set: { net0 } })).applied, ['net0']);
  t.regex((await execFile('tc', ['class', 'show', 'dev', `veth${vmid}i0`])).stdout, /^$/, 'the rate limit is gone');
  const pingUp = await kernel.guests.exec(vmid, ['ping', '-c', '1', '-W', '2', peer.ip]);
  t.is(pingUp.exitCode, 0, pingUp.stdout + pingUp.stderr);

  // The id map as the host sees it.
  const st1 = await kernel.guests.status(vmid);
  const uidMap = await readFile(`/proc/${st1.pid}/uid_map`, 'utf8');
  t.deepEqual(uidMap.trim().split(/\s+/).map(Number), [0, 100000, 65536]);
  const idInside = await kernel.guests.exec(vmid, ['id', '-u']);
  t.is(idInside.stdout.trim(), '0');
  await kernel.guests.exec(vmid, ['touch', '/root/made-inside']);
  t.is((await stat(join(rootfs.path, 'root', 'made-inside'))).uid, 100000);

  // Freeze / unfreeze.
  await kernel.guests.suspend(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'frozen');
  const cg = (await kernel.guests.status(vmid)).detail as { cgroups: Record<string, string> };
  t.is((await readFile(join(cg.cgroups.freezer!, 'freezer.state'), 'utf8')).trim(), 'FROZEN');
  await kernel.guests.resume(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'running');

  // A new kernel on the same directories sees the running container and can use it.
  const k2 = await reopenKernel(env);
  try {
    const st2 = await k2.guests.status(vmid);
    t.is(st2.state, 'running');
    t.is(st2.pid, st1.pid);
    t.is((await k2.guests.exec(vmid, ['cat', '/etc/hostname'])).stdout, 'corral-ct\n');
    const list = await k2.guests.list();
    t.deepEqual(list.map((g) => [g.vmid, g.status]), [[vmid, 'running']]);
  } finally {
    await k2.dispose();
  }

  // Destroy refuses a running container.
  await t.throwsAsync(kernel.guests.destroy(vmid), { code: 'CORRAL_ERR_INVALID_STATE' });

  await kernel.guests.stop(vmid);
  t.is((await kernel.guests.status(vmid)).state, 'stopped');
  const runDir = join(kernel.dir, 'run', 'lxc', String(vmid));
  t.false(existsSync(join(runDir, 'config')), 'the generated LXC config is removed at stop');
  t.false(existsSync(`/proc/${st1.pid}`), 'init is gone');
  // The host side of the veth went away with the container.
  t.throws(() => execFileSync('ip', ['link', 'show', `veth${vmid}i0`], { stdio: 'ignore' }));

  await kernel.guests.destroy(vmid);
  t.false(existsSync(rootfs.path), 'the rootfs volume is freed');
  t.true(existsSync(join(rootfs.path, '..', '..', '..', 'template', 'cache', 'busybox.tar.gz')), 'the template stays');
});

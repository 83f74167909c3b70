/**
 * A real container's NICs go through core's NIC plugging with a hook a test plugin registered:
 * the hook resolves a vnet name to a private bridge and sees the ports, `firewall=1` puts the
 * veth behind its port bridge, and traffic to a peer namespace crosses it.
 */
import { definePlugin, extensionPoints, ROOT_CALLER, type NicPlugHook } from '@corral/core';
import test from 'ava';
import { readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { realTest } from '@corral/core/testing';
import { lxcAvailable, lxcEnv, lxcMissingReason, peerNamespace, privateBridge, randomVmid } from '../support/lxcTestEnv.js';

const lxcTest = realTest(test, lxcAvailable, lxcMissingReason);

const master = (ifname: string): Promise<string | undefined> => readlink(`/sys/class/net/${ifname}/master`).then(basename, () => undefined);

lxcTest.serial('a plugin hook resolves the vnet and sees the firewall port; the container pings a peer through fwbr', async (t) => {
  const br = await privateBridge(t);
  const calls: string[] = [];
  const hook: NicPlugHook = {
    resolveBridge: async (_ctx, nic) => (nic.bridge === 'vnettest' ? br.name : undefined),
    afterPlug: async (_ctx, nic, ports) => void calls.push(`afterPlug ${nic.key} ${ports.bridge} ${ports.firewallBridge}`),
    afterUnplug: async (_ctx, nic) => void calls.push(`afterUnplug ${nic.key} ${nic.bridge}`),
  };
  const hookPlugin = definePlugin({ id: 'test-nic-hook', apiVersion: 3, register: (env) => env.extend(extensionPoints.nicPlugHooks, 'test', hook) });
  const env = await lxcEnv(t, { extraPlugins: [hookPlugin] });
  const { kernel } = env;
  const vmid = randomVmid();
  env.track(vmid);
  const ip = `${br.net}.${10 + (vmid % 200)}`;
  await kernel.guests.create(
    'lxc',
    { ostemplate: 'local:vztmpl/busybox.tar.gz', rootfs: 'local:1', net0: `name=eth0,bridge=vnettest,firewall=1,ip=${ip}/24` },
    { caller: ROOT_CALLER, vmid },
  );
  await kernel.guests.start(vmid);
  t.deepEqual(calls, [`afterPlug net0 ${br.name} fwbr${vmid}i0`]);
  t.is(await master(`veth${vmid}i0`), `fwbr${vmid}i0`);
  t.is(await master(`fwpr${vmid}p0`), br.name);
  const peer = await peerNamespace(t, br.name, `${br.net}.251`);
  const ping = await kernel.guests.exec(vmid, ['ping', '-c', '1', '-W', '2', peer.ip]);
  t.is(ping.exitCode, 0, ping.stdout + ping.stderr);
  await kernel.guests.stop(vmid);
  t.deepEqual(calls.slice(1), [`afterUnplug net0 ${br.name}`], 'hooks see the bridge as resolveBridge named it');
  t.is(await readlink(`/sys/class/net/fwbr${vmid}i0`).catch(() => 'gone'), 'gone', 'the firewall port is removed at stop');
  await kernel.guests.destroy(vmid);
});

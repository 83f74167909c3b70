/**
 * A kernel with the dir storage and the KVM plugin for integration tests, a private bridge,
 * the test guest's config, and a helper that starts a VM paused, connects its serial console
 * and lets it boot (so no early serial line is lost).
 *
 * @packageDocumentation
 */
import { execFile } from 'node:child_process';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { createKernel, type CorralPlugin, type Kernel, ROOT_CALLER } from '@corral/core';
import { createTestKernel, uniqueName, type TestKernel } from '@corral/core/testing';
import { storageDirPlugin } from '@corral/plugin-storage-dir';
import { createKvmPlugin } from '../../src/plugin.js';
import { readBootReport, type GuestBootReport } from '../support/guestMarkers.js';
import { SerialConsole } from '../support/SerialConsole.js';
import { ensureTestGuest, type TestGuestImage } from '../support/testGuestImage.js';

const run = promisify(execFile);

/** What {@link kvmTestKernel} sets up. */
export interface KvmTestEnv {
  readonly kernel: TestKernel;
  readonly image: TestGuestImage;
  /** A private Linux bridge (no uplink), deleted at teardown. */
  readonly bridge: string;
  /** cgroup v1 parent of this test's VMs (`<controller>/<cgroupParent>/<vmid>.scope`). */
  readonly cgroupParent: string;
  /** The plugins the kernel was made with (for a second kernel on the same dirs). */
  readonly plugins: readonly CorralPlugin[];
  /** A second kernel on the same data and run directories (a restarted kernel). */
  reopen(): Promise<Kernel>;
}

/**
 * Kernel + dir storage `local` (images, iso) + KVM plugin placing VMs in a private cgroup v1
 * parent + a private bridge. At teardown: every VM still running is stopped, the bridge and
 * the cgroup parents are removed.
 */
export async function kvmTestKernel(t: ExecutionContext): Promise<KvmTestEnv> {
  const image = await ensureTestGuest();
  const cgroupParent = uniqueName('corral-test-');
  const plugins = [storageDirPlugin, createKvmPlugin({ resourceControl: { mode: 'cgroup-v1', cgroupV1: { parent: cgroupParent } } })];
  const kernel = await createTestKernel(t, { plugins });
  await kernel.storage.add('local', 'dir', { path: join(kernel.dir, 'store'), content: 'images,iso' }, { caller: ROOT_CALLER });
  const bridge = uniqueName('crb');
  await run('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
  await run('ip', ['link', 'set', 'dev', bridge, 'up']);
  const others: Kernel[] = [];
  t.teardown(async () => {
    for (const g of await kernel.guests.list().catch(() => [])) {
      if (g.status !== 'stopped') await kernel.guests.stop(g.vmid).catch(() => undefined);
    }
    for (const k of others) await k.dispose().catch(() => undefined);
    await run('ip', ['link', 'del', 'dev', bridge]).catch(() => undefined);
    for (const c of ['cpu', 'cpuacct', 'memory', 'pids', 'blkio']) {
      await rmdir(`/sys/fs/cgroup/${c}/${cgroupParent}`).catch(() => undefined);
    }
  });
  return {
    kernel,
    image,
    bridge,
    cgroupParent,
    plugins,
    async reopen() {
      const k = await createKernel({ node: 'testnode', dataDir: join(kernel.dir, 'data'), runDir: join(kernel.dir, 'run'), plugins });
      others.push(k);
      return k;
    },
  };
}

/** The test guest's VM config: direct kernel boot through `args`, serial0 socket, agent, a SCSI disk and a bridged NIC. */
export function testGuestConfig(env: KvmTestEnv, extra: Record<string, string | number> = {}): Record<string, string | number> {
  const { image, bridge } = env;
  return {
    name: 'corral-test',
    memory: 256,
    agent: 1,
    serial0: 'socket',
    tablet: 0,
    scsihw: 'virtio-scsi-pci',
    scsi0: 'local:1,format=qcow2,serial=CORRALSCSI0',
    net0: `virtio=BC:24:11:AA:00:01,bridge=${bridge}`,
    args: `-kernel ${image.kernel} -initrd ${image.initrd} -append "${image.cmdline}"`,
    freeze: 1,
    ...extra,
  };
}

/**
 * Starts VM `vmid` (its config has `freeze: 1`, so it stays paused), connects the serial
 * console, resumes it and waits for the guest's READY line. The console is closed at teardown.
 */
export async function bootGuest(t: ExecutionContext, kernel: Kernel, vmid: number): Promise<{ serial: SerialConsole; report: GuestBootReport }> {
  await kernel.guests.start(vmid);
  const serial = await connectSerial(t, kernel, vmid);
  await kernel.guests.resume(vmid);
  const report = await readBootReport(serial);
  return { serial, report };
}

/** Connects to the VM's serial console (closed at teardown). */
export async function connectSerial(t: ExecutionContext, kernel: Kernel, vmid: number): Promise<SerialConsole> {
  const endpoint = await kernel.guests.console(vmid, 'serial');
  if (endpoint.kind !== 'unix') throw new Error('expected a unix socket console');
  const serial = await SerialConsole.connect(endpoint.path);
  t.teardown(() => serial.close());
  return serial;
}

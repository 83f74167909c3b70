/**
 * The Corral quick start as a portal author would write it: a node on the embedded defaults
 * (directory storage, local config store) creates VM 100 and container 200, boots the VM until
 * its console shows the guest's own output, runs a command in the container, snapshots the VM
 * and makes a linked clone of it.
 *
 * @packageDocumentation
 */
import { createReadStream } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createKernel, ROOT_CALLER, type Caller, type Kernel } from '@corral/core';
import { kvmPlugin } from '@corral/plugin-kvm';
import { lxcPlugin } from '@corral/plugin-lxc';
import { storageDirPlugin } from '@corral/plugin-storage-dir';

/** Where the quick start keeps its state and finds its guest images. */
export interface QuickstartOptions {
  readonly dataDir: string;
  readonly runDir: string;
  /** A kernel + initramfs that print to ttyS0 (the cached test guest), and a container template tarball. */
  readonly guest: { readonly kernel: string; readonly initrd: string; readonly cmdline: string };
  readonly containerTemplate: string;
  /** How long a VM may take from resume to its READY line, ms. Default {@link READY_TIMEOUT_MS}. */
  readonly readyTimeoutMs?: number;
  /** Called as each step starts; resolves the step's result for display. */
  readonly step?: <T>(title: string, run: () => Promise<T>) => Promise<T>;
  readonly signal?: AbortSignal;
}

/** What the quick start did, for display. */
export interface QuickstartReport {
  readonly consoleLines: string[];
  readonly containerSays: string;
  readonly snapshots: string[];
  readonly cloneConsoleLines: string[];
  readonly upids: Record<string, string>;
}

/** Default time a VM may take to print its READY line: 120 s (TCG boots the test guest in 4-8 s). */
export const READY_TIMEOUT_MS = 120_000;

export const VM_ID = 100;
export const CLONE_ID = 101;
export const CT_ID = 200;

/** Opens a kernel with the three plugins and the `local` directory storage. */
export async function openDemoKernel(options: Pick<QuickstartOptions, 'dataDir' | 'runDir'>): Promise<Kernel> {
  const kernel = await createKernel({ node: 'corral-demo', dataDir: options.dataDir, runDir: options.runDir, plugins: [storageDirPlugin, kvmPlugin, lxcPlugin] });
  if (!(await kernel.storage.list()).some((s) => s.id === 'local')) {
    // A storage path is a place on the host: only a privileged caller may define one.
    await kernel.storage.add('local', 'dir', { path: join(options.dataDir, 'storage'), content: 'images,rootdir,vztmpl,iso', mkdir: 1 }, { caller: ROOT_CALLER });
  }
  return kernel;
}

/** Stops and destroys what an earlier run left (the demo's guest ids only). */
export async function removeDemoGuests(kernel: Kernel): Promise<void> {
  for (const vmid of [CLONE_ID, VM_ID, CT_ID]) {
    const guest = (await kernel.guests.list()).find((g) => g.vmid === vmid);
    if (!guest) continue;
    if (guest.lock) await kernel.guests.unlock(vmid);
    if (guest.status !== 'stopped') await kernel.guests.stop(vmid);
    await kernel.guests.destroy(vmid);
  }
}

/** Runs the whole flow on an open kernel. Guests it started are stopped before it returns. */
export async function runQuickstart(kernel: Kernel, options: QuickstartOptions): Promise<QuickstartReport> {
  const step = options.step ?? (<T>(_: string, run: () => Promise<T>) => run());
  const upids: Record<string, string> = {};
  // The demo is the embedder's own trusted code, so it acts as root: the VM boots its kernel
  // through raw `args` and the container is a privileged one, both root-equivalent. A portal
  // passes its user's unprivileged caller instead (see the README's security section).
  const track = (name: string) => ({ onTask: (upid: string) => void (upids[name] = upid), signal: options.signal, caller: ROOT_CALLER });
  const { guest } = options;

  await step('clean up what an earlier run left', () => removeDemoGuests(kernel));
  const templates = await kernel.storage.listVolumes('local', { content: 'vztmpl' });
  const template = templates.find((v) => v.volname.endsWith('/busybox.tar.gz'))?.volid ??
    (await kernel.storage.upload({ storage: 'local', content: 'vztmpl', filename: 'busybox.tar.gz', stream: createReadStream(options.containerTemplate) }));

  await step('create VM 100 (1 GiB qcow2 disk on local)', () =>
    kernel.guests.create('qemu', {
      name: 'demo-vm', memory: 256, agent: 1, serial0: 'socket', scsihw: 'virtio-scsi-pci',
      scsi0: 'local:1,format=qcow2,serial=DEMODISK', freeze: 1,
      args: `-kernel ${guest.kernel} -initrd ${guest.initrd} -append "${guest.cmdline}"`,
    }, { vmid: VM_ID, ...track('create VM 100') }));
  const ready = { readyTimeoutMs: options.readyTimeoutMs };
  const consoleLines = await step('boot VM 100 until its console shows the guest', () => bootUntilReady(kernel, VM_ID, { ...ready, ...track('start VM 100') }));

  await step('create container 200 from the busybox template', () =>
    kernel.guests.create('lxc', { ostemplate: template, rootfs: 'local:1', hostname: 'demo-ct', memory: 128, password: 'corral-demo' },
      { vmid: CT_ID, ...track('create CT 200') }));
  await step('start container 200', () => kernel.guests.start(CT_ID, track('start CT 200')));
  const exec = await step('run a command in container 200', () => kernel.guests.exec(CT_ID, ['sh', '-c', 'echo "$(hostname): $(uname -sr), pid 1 is $(cat /proc/1/comm)"']));

  await step('snapshot VM 100 while it runs', () => kernel.guests.snapshot(VM_ID, 'booted', { description: 'taken by the quick start', ...track('snapshot VM 100') }));
  const snapshots = (await kernel.guests.listSnapshots(VM_ID)).map((s) => s.name);
  await step('shut VM 100 down through its guest agent', () => kernel.guests.shutdown(VM_ID, { timeoutMs: 60_000, forceStop: true, ...track('shutdown VM 100') }));
  await step('drop the snapshot and turn VM 100 into a template', async () => {
    await kernel.guests.deleteSnapshot(VM_ID, 'booted', track('delete snapshot'));
    await kernel.guests.template(VM_ID, track('template VM 100'));
  });
  await step('linked-clone VM 100 as VM 101', () => kernel.guests.clone(VM_ID, { newid: CLONE_ID, name: 'demo-clone', ...track('clone 100 -> 101') }));
  const cloneConsoleLines = await step('boot the clone until its console shows the guest', () => bootUntilReady(kernel, CLONE_ID, { ...ready, ...track('start VM 101') }));

  await step('stop the clone and the container', async () => {
    await kernel.guests.stop(CLONE_ID, track('stop VM 101'));
    await kernel.guests.stop(CT_ID, track('stop CT 200'));
  });
  return { consoleLines, containerSays: exec.stdout.trim(), snapshots, cloneConsoleLines, upids };
}

/** What a running VM's status says about how it was started (plugin-kvm's `status().detail`). */
interface BootFacts {
  readonly accel?: string;
  readonly accelReason?: string;
  readonly serialLogs?: Readonly<Record<string, string>>;
  readonly qemuLog?: string;
}

/**
 * Starts a VM whose config has `freeze: 1` (it starts paused), attaches to its serial console,
 * resumes it and returns the guest's own lines up to its READY marker.
 *
 * @throws Error when no READY line comes within `readyTimeoutMs` (default
 *   {@link READY_TIMEOUT_MS}), naming the accelerator QEMU runs with (and why), the timeout
 *   and the serial console's log file. The VM is left running (the caller stops it).
 */
export async function bootUntilReady(
  kernel: Kernel,
  vmid: number,
  opts: { onTask?: (upid: string) => void; signal?: AbortSignal; readyTimeoutMs?: number; caller?: Caller },
): Promise<string[]> {
  const timeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
  await kernel.guests.start(vmid, { onTask: opts.onTask, signal: opts.signal, caller: opts.caller });
  const facts = ((await kernel.guests.status(vmid)).detail ?? {}) as BootFacts;
  const stuck = (): Error =>
    new Error(
      `VM ${vmid} printed no READY line within ${timeoutMs / 1000} s (accelerator: ${facts.accel ?? 'unknown'}` +
        `${facts.accelReason ? `, ${facts.accelReason}` : ''}; serial console log: ${facts.serialLogs?.serial0 ?? 'none'}` +
        `${facts.qemuLog ? `; QEMU log: ${facts.qemuLog}` : ''})`,
    );
  const endpoint = await kernel.guests.console(vmid, 'serial');
  if (endpoint.kind !== 'unix') throw new Error('expected a serial socket');
  const socket = connect(endpoint.path);
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('CORRAL-')) lines.push(line);
        if (line.startsWith('CORRAL-GUEST-READY')) resolve();
      }
    });
    socket.on('error', reject);
    opts.signal?.addEventListener('abort', () => reject(new Error('interrupted')), { once: true });
    setTimeout(() => reject(stuck()), timeoutMs).unref();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  await kernel.guests.resume(vmid);
  try {
    await ready;
  } finally {
    socket.destroy();
  }
  return lines;
}

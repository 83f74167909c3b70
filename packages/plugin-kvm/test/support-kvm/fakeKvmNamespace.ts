/**
 * A KVM accelerator that fails, for real, on any machine: a private mount namespace whose
 * `/dev` is a fresh tmpfs holding `null`, `zero`, `random`, `urandom` and a `kvm` that is
 * /dev/null's character device (1,3). QEMU run inside opens `/dev/kvm` read-write as usual,
 * and its first KVM ioctl fails ("kvm version too old ... Inappropriate ioctl for device"),
 * whatever the host's own /dev/kvm is (missing, broken or working). Needs root (unshare,
 * nsenter, mount, mknod from util-linux and coreutils).
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';
import { NodeCommandRunner, type CommandRunner, type RunOptions, type RunResult } from '@corral/core';

/** The namespace: a runner whose commands run inside it, and the fake device as seen from outside. */
export interface FakeKvmNamespace {
  /** Runs every argv inside the namespace (`nsenter -t <pid> -m -- argv`; nsenter execs, so a timeout kills the program itself). */
  readonly runner: CommandRunner;
  /** The namespace's `/dev/kvm`, seen from this process (`/proc/<pid>/root/dev/kvm`): what the probe checks before running QEMU. */
  readonly device: string;
}

/** Device nodes of the namespace's /dev: name, major, minor. */
const NODES: ReadonlyArray<readonly [string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['kvm', 1, 3], // /dev/null's device at the KVM path
];

/** Makes the namespace (see the module comment); its holder process is killed at teardown, which ends it. */
export async function fakeKvmNamespace(t: ExecutionContext): Promise<FakeKvmNamespace> {
  const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sleep', 'infinity'], { stdio: 'ignore' });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  const pid = holder.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  const exited = new Promise<never>((_, reject) => holder.once('exit', (code, signal) => reject(new Error(`unshare exited (${code ?? signal}) before its namespace was ready`))));
  exited.catch(() => undefined);
  // unshare execs sleep once the namespace exists: wait until the holder's mount namespace differs from ours.
  const own = await readlink('/proc/self/ns/mnt');
  for (;;) {
    const ns = await Promise.race([readlink(`/proc/${pid}/ns/mnt`).catch(() => own), exited]);
    if (ns !== own) break;
    await Promise.race([new Promise((r) => setImmediate(r)), exited]);
  }
  const outside = new NodeCommandRunner();
  const inside: CommandRunner = {
    run: (argv: readonly string[], options?: RunOptions): Promise<RunResult> => outside.run(['nsenter', '-t', String(pid), '-m', '--', ...argv], options),
  };
  await inside.run(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'corral-fake-dev', '/dev']);
  for (const [name, major, minor] of NODES) await inside.run(['mknod', '-m', '666', `/dev/${name}`, 'c', String(major), String(minor)]);
  return { runner: inside, device: `/proc/${pid}/root/dev/kvm` };
}

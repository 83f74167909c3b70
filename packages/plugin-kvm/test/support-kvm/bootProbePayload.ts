/**
 * Boots a KVM probe image directly (not through `KvmProbe`), for tests that check the payload
 * under TCG and compare the probe's answer with an independent boot under KVM.
 *
 * @packageDocumentation
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { CommandFailedError, CommandTimeoutError, NodeCommandRunner, type CommandRunner } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { QEMU_BINARY } from '../support/QemuProcess.js';

/** How a direct boot of the image ended. */
export interface PayloadBoot {
  /** QEMU's exit status, or null when it was killed (timeout, signal). */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** Stage letters the payload printed on the debug console. */
  readonly stages: string;
  readonly stderr: string;
  /** Wall time of the QEMU run, ms. */
  readonly durationMs: number;
}

/**
 * Runs `image` under `-accel <accel> -cpu <cpu>` with `-device isa-debug-exit` and a debug
 * console file, through `runner` (default: a plain NodeCommandRunner); QEMU is SIGKILLed after `timeoutMs`.
 */
export async function bootProbePayload(t: ExecutionContext, image: Buffer, options: { accel: 'kvm' | 'tcg'; timeoutMs: number; cpu?: string; runner?: CommandRunner }): Promise<PayloadBoot> {
  const dir = await makeTempDir(t, 'corral-kvm-payload-');
  const file = join(dir, 'probe.fd');
  const stagesFile = join(dir, 'stages.log');
  await writeFile(file, image);
  const argv = [
    QEMU_BINARY, '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-machine', 'pc', '-accel', options.accel, '-cpu', options.cpu ?? 'kvm64', '-smp', '1', '-m', '16',
    '-bios', file, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-debugcon', `file:${stagesFile}`,
  ];
  const started = performance.now();
  let exitCode: number | null = 0;
  let timedOut = false;
  let stderr = '';
  try {
    stderr = (await (options.runner ?? new NodeCommandRunner()).run(argv, { timeoutMs: options.timeoutMs })).stderr;
  } catch (err) {
    if (err instanceof CommandTimeoutError) {
      timedOut = true;
      exitCode = null;
      stderr = err.stderr;
    } else if (err instanceof CommandFailedError) {
      exitCode = err.exitCode;
      stderr = err.stderr;
    } else {
      throw err;
    }
  }
  const durationMs = performance.now() - started;
  return { exitCode, timedOut, stages: await readFile(stagesFile, 'latin1').catch(() => ''), stderr, durationMs };
}

/**
 * Spawning QEMU in tests: a child process stopped by pid when the test ends.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { TimeoutError } from '@corral/core';
import { hasProgram } from '@corral/core/testing';

/** The QEMU binary tests use. */
export const QEMU_BINARY = 'qemu-system-x86_64';

/** True when {@link QEMU_BINARY} is installed. */
export function qemuAvailable(): boolean {
  return hasProgram(QEMU_BINARY);
}

/** How a QEMU process ended. */
export interface QemuExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Most bytes of stdout+stderr kept for error messages. */
const OUTPUT_CAP = 64 * 1024;

/** A QEMU child process. */
export class QemuProcess {
  /** The child (spawned without a shell). */
  readonly child: ChildProcess;
  /** Its pid. */
  readonly pid: number;
  /** The argv it was started with. */
  readonly argv: readonly string[];
  /** Resolves when the process exited. */
  readonly exited: Promise<QemuExit>;
  /** `Date.now()` at spawn. */
  readonly startedAt: number;
  #output = '';
  #exit: QemuExit | undefined;

  private constructor(child: ChildProcess, argv: readonly string[]) {
    this.child = child;
    this.argv = argv;
    this.startedAt = Date.now();
    if (child.pid === undefined) throw new Error(`could not spawn ${argv[0]}`);
    this.pid = child.pid;
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-OUTPUT_CAP);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /**
   * Spawns `qemu-system-x86_64 ...args` (stdin closed, stdout/stderr captured). With a test
   * context, the process is killed (SIGKILL, by pid) at teardown if it still runs.
   */
  static spawn(t: Pick<ExecutionContext, 'teardown'> | undefined, args: readonly string[], options: { binary?: string } = {}): QemuProcess {
    const argv = [options.binary ?? QEMU_BINARY, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const error = new Promise<Error>((resolve) => child.once('error', resolve));
    const qemu = new QemuProcess(child, argv);
    void error.then((e) => {
      qemu.#output += `\nspawn error: ${e.message}`;
    });
    t?.teardown(() => qemu.kill());
    return qemu;
  }

  /** True while the process has not exited. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** How it ended, once it did. */
  get exit(): QemuExit | undefined {
    return this.#exit;
  }

  /** The last 64 KiB of its stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  /** Waits for the exit; rejects with `TimeoutError` after `timeoutMs`. */
  async waitExit(options: { timeoutMs: number }): Promise<QemuExit> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TimeoutError(`QEMU pid ${this.pid} to exit`, options.timeoutMs)), options.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process by pid (default SIGKILL) if it still runs, and waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<QemuExit> {
    if (this.running) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
    return this.exited;
  }
}

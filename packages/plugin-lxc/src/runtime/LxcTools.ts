/**
 * The LXC command line tools for one container (lxcpath and name fixed), run through the
 * kernel's CommandRunner with argv arrays.
 *
 * @packageDocumentation
 */
import type { CommandRunner, RunResult } from '@corral/core';
import type { ContainerRunDir } from './ContainerRunDir.js';

/** LXC's container states (`lxc-info -s`). */
export type LxcState = 'STOPPED' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'ABORTING' | 'FREEZING' | 'FROZEN' | 'THAWED';

/** The PATH a command run by `lxc-attach` gets (the host's environment is cleared). */
export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Every exit code 0..255 (commands inside a container report theirs). */
const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/** The tools, bound to one container. */
export class LxcTools {
  constructor(
    private readonly runner: CommandRunner,
    readonly dir: ContainerRunDir,
    private readonly signal?: AbortSignal,
  ) {}

  #argv(tool: string, ...rest: string[]): string[] {
    return [tool, '-P', this.dir.lxcPath, '-n', this.dir.name, ...rest];
  }

  /** `lxc-start -d`: returns once LXC reports the container RUNNING (it waits for that itself). */
  startArgv(): string[] {
    return this.#argv('lxc-start', '-d', '-p', this.dir.monitorPidFile);
  }

  /** Starts the container daemonized. Throws `CommandFailedError` (stderr from lxc-start). */
  start(options: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.runner.run(this.startArgv(), { timeoutMs: options.timeoutMs, signal: this.signal, cwd: '/' });
  }

  /**
   * `lxc-wait -s <states>`: resolves when the container reaches one of `states`; rejects
   * (`CommandFailedError`, exit 1) after `timeoutSec`.
   */
  wait(states: readonly LxcState[], timeoutSec: number): Promise<RunResult> {
    return this.runner.run(this.#argv('lxc-wait', '-s', states.join('|'), '-t', String(timeoutSec)), { signal: this.signal, cwd: '/' });
  }

  /**
   * `lxc-stop`. `kill`: SIGKILL at once (`-k`). Otherwise the halt signal (or reboot signal with
   * `reboot`), waiting `timeoutSec`; with `noKill` LXC does not kill after the timeout.
   *
   * @returns The exit code: 0 done, 1 still running after the timeout (or failed), 2 not running.
   */
  async stop(options: { kill?: boolean; reboot?: boolean; noKill?: boolean; timeoutSec?: number; timeoutMs?: number }): Promise<number> {
    const args: string[] = [];
    if (options.kill) args.push('-k');
    if (options.reboot) args.push('-r');
    if (options.noKill) args.push('--nokill');
    if (options.timeoutSec !== undefined) args.push('-t', String(options.timeoutSec));
    const r = await this.runner.run(this.#argv('lxc-stop', ...args), { okExitCodes: [0, 1, 2], timeoutMs: options.timeoutMs, signal: this.signal, cwd: '/' });
    return r.exitCode;
  }

  /** `lxc-info -s -p`: the state and (when running) the init pid. */
  async info(): Promise<{ state: LxcState | 'UNKNOWN'; pid?: number }> {
    const r = await this.runner.run(this.#argv('lxc-info', '-s', '-p', '-H'), { okExitCodes: [0, 1], signal: this.signal, cwd: '/' });
    const state = /^State:\s*(\S+)/m.exec(r.stdout)?.[1] ?? (/^([A-Z]+)$/m.exec(r.stdout)?.[1] as string | undefined);
    const pid = /^PID:\s*(\d+)/m.exec(r.stdout)?.[1] ?? /^(\d+)$/m.exec(r.stdout)?.[1];
    return { state: (state as LxcState | undefined) ?? 'UNKNOWN', pid: pid === undefined ? undefined : Number(pid) };
  }

  /** `lxc-freeze`. */
  freeze(): Promise<RunResult> {
    return this.runner.run(this.#argv('lxc-freeze'), { signal: this.signal, cwd: '/', timeoutMs: 30_000 });
  }

  /** `lxc-unfreeze`. */
  unfreeze(): Promise<RunResult> {
    return this.runner.run(this.#argv('lxc-unfreeze'), { signal: this.signal, cwd: '/', timeoutMs: 30_000 });
  }

  /** `lxc-attach --clear-env` running `argv` inside, with PATH and `env` set. */
  attachArgv(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string[] {
    const vars = { PATH: CONTAINER_PATH, HOME: '/root', ...env };
    const sets = Object.entries(vars).flatMap(([k, val]) => ['-v', `${k}=${val}`]);
    return this.#argv('lxc-attach', '--clear-env', ...sets, '--', ...argv);
  }

  /** Runs a command inside; resolves with its exit code whatever it is. */
  attach(argv: readonly string[], options: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
    return this.runner.run(this.attachArgv(argv, options.env), {
      okExitCodes: ANY_EXIT,
      timeoutMs: options.timeoutMs,
      input: options.input,
      signal: this.signal,
      cwd: '/',
    });
  }

  /** `lxc-console` on the console (tty 0), escape prefix `escape` (default Ctrl+a). */
  consoleArgv(options: { tty?: number; escape?: string } = {}): string[] {
    return this.#argv('lxc-console', '-t', String(options.tty ?? 0), '-e', options.escape ?? '^a');
  }
}

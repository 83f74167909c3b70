import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { AbortedError, CommandFailedError, CommandTimeoutError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { excerpt } from '../formats/configText.js';
import type { CommandRunner, RunOptions, RunResult } from './CommandRunner.js';

/** Default cap of captured stdout and stderr, each: 16 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Options of {@link NodeCommandRunner}. */
export interface NodeCommandRunnerOptions {
  /** Base environment of every command. Default: `process.env` with `LC_ALL=C` so tools print parseable English. */
  env?: Record<string, string | undefined>;
  /** Default timeout in ms for runs that name none. Default: none. */
  defaultTimeoutMs?: number;
}

/** Collects at most `max` bytes of a stream. */
class CappedBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max - this.#size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) {
      this.truncated = true;
      chunk = chunk.subarray(0, room);
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }
  toString(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/**
 * Why `argv`, `env` or `cwd` cannot reach `execve`, or `undefined`: a NUL in an argument, an
 * environment name or value, or the working directory (the kernel ends strings at NUL, so
 * Node refuses them with an uncoded TypeError), an argument or value that is not a string,
 * an environment name that is empty or holds `=`.
 */
function spawnArgumentProblem(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string | undefined): InvalidArgumentError | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (typeof arg !== 'string') return new InvalidArgumentError('argv', `argument ${i} of '${String(argv[0])}' is not a string`);
    if (arg.includes('\0')) return new InvalidArgumentError('argv', `argument ${i} of '${String(argv[0])}' contains a NUL character`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (name === '' || name.includes('=') || name.includes('\0')) {
      return new InvalidArgumentError('env', `environment variable name '${excerpt(name)}' is empty or holds '=' or NUL`);
    }
    if (value !== undefined && (typeof value !== 'string' || value.includes('\0'))) {
      return new InvalidArgumentError('env', `environment variable '${name}' is not a string without NUL characters`);
    }
  }
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd.includes('\0'))) return new InvalidArgumentError('cwd', 'the working directory contains a NUL character');
  return undefined;
}

/**
 * The production {@link CommandRunner}: `child_process.spawn` with an argv array (no shell),
 * killing the process (SIGKILL) on timeout or abort. Arguments, environment and working
 * directory are checked before anything starts: a NUL in any of them (or an environment name
 * with `=`) is refused with `InvalidArgumentError` (`argv`, `env`, `cwd`).
 */
export class NodeCommandRunner implements CommandRunner {
  readonly #env: Record<string, string | undefined>;
  readonly #defaultTimeoutMs: number | undefined;

  constructor(options: NodeCommandRunnerOptions = {}) {
    this.#env = options.env ?? { ...process.env, LC_ALL: 'C' };
    this.#defaultTimeoutMs = options.defaultTimeoutMs;
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0 || !argv[0]) return Promise.reject(new NotFoundError('program', '', 'empty argv'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortedError(`command '${argv.join(' ')}' aborted before start`));
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const okCodes = options.okExitCodes ?? [0];
    const env = { ...this.#env, ...options.env };
    const refused = spawnArgumentProblem(argv, env, options.cwd);
    if (refused) return Promise.reject(refused);
    const started = performance.now();

    return new Promise<RunResult>((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        const stdio = ['pipe', 'pipe', 'pipe', ...(options.extraFds ?? [])] as const;
        child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env, stdio: [...stdio] }) as ChildProcessWithoutNullStreams;
      } catch (error) {
        // What is left after the checks above (a bad option Node refuses before starting).
        reject(new CommandFailedError(argv, null, (error as Error).message, null, { cause: error }));
        return;
      }
      const stdout = new CappedBuffer(max);
      const stderr = new CappedBuffer(max);
      let ended: 'timeout' | 'abort' | null = null;
      let timer: NodeJS.Timeout | undefined;
      let spawnError: NodeJS.ErrnoException | null = null;
      const pipes: Promise<unknown>[] = [];

      const kill = (why: 'timeout' | 'abort') => {
        if (ended) return;
        ended = why;
        child.kill('SIGKILL');
      };
      const onAbort = () => kill('abort');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => kill('timeout'), timeoutMs);

      if (options.stdoutStream) {
        pipes.push(pipeline(child.stdout, options.stdoutStream).catch(() => undefined));
      } else {
        child.stdout.on('data', (c: Buffer) => stdout.push(c));
      }
      child.stderr.on('data', (c: Buffer) => stderr.push(c));
      // A program that exits without reading stdin makes the write fail with EPIPE: not an error of ours.
      child.stdin.on('error', () => undefined);
      if (options.stdinStream) {
        pipes.push(pipeline(options.stdinStream, child.stdin).catch(() => undefined));
      } else if (options.input !== undefined) {
        child.stdin.end(options.input);
      } else {
        child.stdin.end();
      }

      child.on('error', (err: NodeJS.ErrnoException) => {
        spawnError = err;
      });
      child.on('close', async (code, sig) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        await Promise.all(pipes);
        const err = stderr.toString();
        if (spawnError) {
          if (spawnError.code === 'ENOENT') {
            reject(new NotFoundError('program', argv[0]!, `program '${argv[0]}' not found`, { cause: spawnError }));
          } else {
            reject(new CommandFailedError(argv, null, spawnError.message, null, { cause: spawnError }));
          }
          return;
        }
        if (ended === 'timeout') return reject(new CommandTimeoutError(argv, timeoutMs!, err));
        if (ended === 'abort') return reject(new AbortedError(`command '${argv.join(' ')}' aborted`, { cause: signal?.reason }));
        if (code === null || !okCodes.includes(code)) {
          return reject(new CommandFailedError(argv, code, err, sig));
        }
        resolve({
          argv,
          exitCode: code,
          stdout: stdout.toString(),
          stderr: err,
          truncated: stdout.truncated || stderr.truncated,
          durationMs: performance.now() - started,
        });
      });
    });
  }
}

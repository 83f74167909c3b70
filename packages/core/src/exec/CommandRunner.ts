/**
 * The one way Corral runs external programs: argv arrays (never a shell string), a timeout,
 * an AbortSignal, a cap on captured output and an explicit environment.
 *
 * @packageDocumentation
 */
import type { Readable, Writable } from 'node:stream';

/** Options of one command run. */
export interface RunOptions {
  /** Kill the program (SIGKILL) after this many milliseconds. Default: no timeout. */
  timeoutMs?: number;
  /** Cancels the run: the program is killed and the promise rejects with `AbortedError`. */
  signal?: AbortSignal;
  /** Extra environment variables, merged over the runner's base environment. */
  env?: Record<string, string | undefined>;
  /** Working directory. */
  cwd?: string;
  /** Bytes written to the program's stdin (then closed). Ignored when `stdinStream` is set. */
  input?: string | Uint8Array;
  /** A stream piped to stdin (for import streams). */
  stdinStream?: Readable;
  /** A stream receiving stdout instead of capturing it (for export streams). */
  stdoutStream?: Writable;
  /**
   * Most bytes of stdout and of stderr kept each (the rest is dropped and `truncated` set).
   * Default 16 MiB.
   */
  maxOutputBytes?: number;
  /**
   * Exit codes that count as success. Default `[0]`. Any other exit code rejects with
   * `CommandFailedError`.
   */
  okExitCodes?: readonly number[];
  /**
   * Open file descriptors of this process handed to the program as its fds 3, 4, ... in this
   * order. The program shares their open file descriptions (a `flock` it takes on one stays
   * with this process after it exits). Default: none.
   */
  extraFds?: readonly number[];
}

/** What a finished command produced. */
export interface RunResult {
  /** The argv that ran. */
  argv: readonly string[];
  /** Exit code (one of `okExitCodes`). */
  exitCode: number;
  /** Captured stdout as UTF-8 ('' when `stdoutStream` was given). */
  stdout: string;
  /** Captured stderr as UTF-8. */
  stderr: string;
  /** True when output went past `maxOutputBytes` and was cut. */
  truncated: boolean;
  /** Wall time in milliseconds. */
  durationMs: number;
}

/**
 * Runs external programs.
 *
 * `run` resolves with a {@link RunResult} when the program exits with an accepted code and
 * rejects with `CommandFailedError` (argv, exitCode, stderr) otherwise,
 * `CommandTimeoutError` after `timeoutMs`, `AbortedError` when `signal` fires, and
 * `NotFoundError` (kind `program`) when argv[0] cannot be found.
 */
export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
}

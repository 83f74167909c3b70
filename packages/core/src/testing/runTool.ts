/**
 * A minimal program runner for test harnesses: `child_process.spawn` with an argv array (never
 * a shell), captured output, a timeout. Harnesses use it instead of the product's
 * CommandRunner so that they stay independent of the code under test.
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';

/** Options of {@link runTool}. */
export interface RunToolOptions {
  /** Kill the program with SIGKILL after this many milliseconds. Default 60 000. */
  timeoutMs?: number;
  /** Bytes written to stdin (then closed). Default: stdin is empty. */
  input?: string | Uint8Array;
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables merged over `process.env` (plus `LC_ALL=C`). */
  env?: Record<string, string>;
  /** Kills the program with SIGKILL when aborted (the result then has `signal` set). */
  signal?: AbortSignal;
}

/** What a finished program produced. */
export interface RunToolResult {
  /** The argv that ran. */
  argv: readonly string[];
  /** Exit code, or null when killed by a signal (then `signal` is set). */
  exitCode: number | null;
  /** Terminating signal, e.g. `SIGKILL` after a timeout. */
  signal: NodeJS.Signals | null;
  /** True when the timeout killed the program. */
  timedOut: boolean;
  /** stdout as UTF-8. */
  stdout: string;
  /** stderr as UTF-8. */
  stderr: string;
  /** Wall time in milliseconds. */
  durationMs: number;
}

/**
 * Runs `argv` and resolves with what it produced, whatever its exit code.
 * Rejects only when the program cannot be started (e.g. ENOENT).
 */
export function runTool(argv: readonly string[], options: RunToolOptions = {}): Promise<RunToolResult> {
  const [program, ...args] = argv;
  if (!program) return Promise.reject(new Error('runTool: empty argv'));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...process.env, LC_ALL: 'C', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      /* the program may exit without reading stdin */
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        argv,
        exitCode,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
      });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `argv` like {@link runTool} and rejects with an Error naming argv, exit code (or signal
 * / timeout) and stderr unless the program exits 0.
 */
export async function runToolOk(argv: readonly string[], options: RunToolOptions = {}): Promise<RunToolResult> {
  const r = await runTool(argv, options);
  if (r.exitCode !== 0) {
    const how = r.timedOut
      ? `timed out after ${options.timeoutMs ?? 60_000} ms`
      : r.signal
        ? `was killed by ${r.signal}`
        : `exited with code ${r.exitCode}`;
    throw new Error(`'${argv.join(' ')}' ${how}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r;
}

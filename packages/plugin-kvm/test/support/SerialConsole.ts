/**
 * The test guest's serial console on a unix socket (`-chardev socket,...,server=on`): keeps
 * every line, waits for markers, and runs commands through the guest's CORRAL-CMD protocol
 * (see packages/plugin-kvm/scripts/guest/init.sh).
 *
 * @packageDocumentation
 */
import { createConnection, type Socket } from 'node:net';
import { TimeoutError } from '@corral/core';
import { delay, waitFor } from '../../src/qmp/waitFor.js';

/** A line matched by {@link SerialConsole.waitForLine}. */
export interface SerialMatch {
  /** The whole line (no line end). */
  line: string;
  /** Its index in {@link SerialConsole.lines}. */
  index: number;
  /** The RegExp match (for a string pattern: the string itself at index 0). */
  match: RegExpMatchArray;
  /** `Date.now()` when the line arrived. */
  at: number;
}

/** Result of {@link SerialConsole.run}. */
export interface SerialCommandResult {
  /** Exit code of the command in the guest. */
  rc: number;
  /** Output lines (stdout and stderr together). */
  output: string[];
}

/** Options of waits on the console. */
export interface SerialWaitOptions {
  /**
   * Give up after this long without any output from the guest (default 30 s): a quiet
   * timeout, restarted by every byte the guest prints, so a guest that boots slowly on a
   * loaded host (still printing) is waited for, and one that stalls is not.
   */
  timeoutMs?: number;
  /** First line index to look at (see {@link SerialConsole.mark}). Default 0: all lines so far. */
  from?: number;
}

interface LineWaiter {
  pattern: string | RegExp;
  from: number;
  resolve(m: SerialMatch): void;
}

/** See the module comment. */
export class SerialConsole {
  /** Every complete line received, `\r` removed. */
  readonly lines: string[] = [];
  /** `Date.now()` at which each line arrived (same indexes as {@link lines}). */
  readonly times: number[] = [];
  readonly #socket: Socket;
  #partial = '';
  readonly #waiters = new Set<LineWaiter>();
  #nextCommand = 1;
  #closed = false;
  /** `Date.now()` of the last bytes received (or of the connection). */
  #lastOutputAt = Date.now();
  readonly #closeListeners = new Set<() => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.#onData(text));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      for (const l of [...this.#closeListeners]) l();
    });
  }

  /**
   * Connects to the serial socket at `path`, retrying while it does not exist yet (QEMU just
   * spawned). Rejects with `TimeoutError` after `timeoutMs` (default 10 s).
   */
  static async connect(path: string, options: { timeoutMs?: number } = {}): Promise<SerialConsole> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection({ path });
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        return new SerialConsole(socket);
      } catch (error) {
        last = error;
        await delay(20);
      }
    }
    throw new TimeoutError(`serial socket ${path}`, timeoutMs, { cause: last });
  }

  /** Index of the next line to arrive: pass it as `from` to wait only for later lines. */
  mark(): number {
    return this.lines.length;
  }

  /** The last `n` lines, for error messages. */
  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }

  /**
   * Resolves with the first line at index `from` or later that contains `pattern` (string)
   * or matches it (RegExp). Rejects with `TimeoutError` naming the pattern and showing the
   * last lines when the guest printed nothing for `timeoutMs` (see {@link SerialWaitOptions}),
   * or at once when the console closes (QEMU exited) before the line came.
   */
  async waitForLine(pattern: string | RegExp, options: SerialWaitOptions = {}): Promise<SerialMatch> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 30_000;
    for (let i = from; i < this.lines.length; i++) {
      const m = matchLine(this.lines[i]!, pattern);
      if (m) return { line: this.lines[i]!, index: i, match: m, at: this.times[i]! };
    }
    const what = `serial line ${String(pattern)}`;
    const failure = (why: string): TimeoutError => new TimeoutError(`${what} (${why}); last lines:\n${this.tail()}`, timeoutMs);
    if (this.#closed) throw failure('serial closed');
    return waitFor<SerialMatch>(what, {}, (resolve, reject) => {
      const waiter: LineWaiter = { pattern, from, resolve };
      this.#waiters.add(waiter);
      const onClose = (): void => reject(failure('serial closed: QEMU exited'));
      this.#closeListeners.add(onClose);
      // The quiet timeout: re-armed for what is left since the guest's last output.
      let timer: NodeJS.Timeout;
      const arm = (ms: number): void => {
        timer = setTimeout(() => {
          const quietFor = Date.now() - Math.max(this.#lastOutputAt, started);
          if (quietFor >= timeoutMs) reject(failure(`no output for ${timeoutMs} ms`));
          else arm(timeoutMs - quietFor);
        }, ms);
      };
      const started = Date.now();
      arm(timeoutMs);
      return () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        this.#closeListeners.delete(onClose);
      };
    });
  }

  /** Writes raw text to the guest's console. */
  write(text: string): void {
    this.#socket.write(text);
  }

  /**
   * Runs `command` with `sh -c` in the guest (CORRAL-CMD protocol) and resolves with its exit
   * code and output lines. Commands from one console run one at a time in the guest.
   * Rejects with `TimeoutError` (default 30 s).
   */
  async run(command: string, options: { timeoutMs?: number } = {}): Promise<SerialCommandResult> {
    if (command.includes('\n')) throw new Error('a serial command must be one line');
    const id = `c${this.#nextCommand++}`;
    const from = this.mark();
    this.write(`CORRAL-CMD ${id} ${command}\n`);
    const done = await this.waitForLine(new RegExp(`^CORRAL-RC ${id} (\\d+)$`), { from, timeoutMs: options.timeoutMs });
    const prefix = `CORRAL-OUT ${id} `;
    const output: string[] = [];
    for (let i = from; i < done.index; i++) {
      const line = this.lines[i]!;
      if (line.startsWith(prefix)) output.push(line.slice(prefix.length));
      else if (line === `CORRAL-OUT ${id}`) output.push('');
    }
    return { rc: Number(done.match[1]), output };
  }

  /** Closes the connection (the guest keeps running). */
  close(): void {
    this.#socket.destroy();
  }

  #onData(text: string): void {
    this.#lastOutputAt = Date.now();
    const parts = (this.#partial + text).split('\n');
    this.#partial = parts.pop() ?? '';
    const now = Date.now();
    for (const raw of parts) {
      const line = raw.replace(/\r/g, '');
      const index = this.lines.length;
      this.lines.push(line);
      this.times.push(now);
      for (const waiter of [...this.#waiters]) {
        if (index < waiter.from) continue;
        const m = matchLine(line, waiter.pattern);
        if (m) waiter.resolve({ line, index, match: m, at: now });
      }
    }
  }
}

function matchLine(line: string, pattern: string | RegExp): RegExpMatchArray | null {
  if (typeof pattern === 'string') {
    if (!line.includes(pattern)) return null;
    const m = [pattern] as unknown as RegExpMatchArray;
    return m;
  }
  return line.match(pattern);
}

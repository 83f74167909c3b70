/**
 * A progress display for sequential steps: on a terminal, a spinner with the elapsed time
 * rewritten in place, then a check mark and the step's duration; elsewhere, one line per step.
 */
export class ProgressLine {
  readonly #started = performance.now();
  readonly #tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.#tty = out.isTTY === true;
  }

  /** Runs `run` as a step titled `title`, showing progress; rethrows its error after marking it failed. */
  async step<T>(title: string, run: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let i = 0;
    const draw = () => this.out.write(`\r\x1b[2K  ${frames[i++ % frames.length]} ${title} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    const timer = this.#tty ? setInterval(draw, 100) : undefined;
    if (this.#tty) draw();
    else this.out.write(`  … ${title}\n`);
    try {
      const result = await run();
      this.#finish('✔', title, t0);
      return result;
    } catch (err) {
      this.#finish('✘', title, t0);
      throw err;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** Prints a line between steps. */
  note(text: string): void {
    this.out.write(`${this.#tty ? '\r\x1b[2K' : ''}  ${text}\n`);
  }

  /** Prints an error with its code. */
  fail(err: unknown): void {
    const e = err as { code?: string; message?: string };
    this.out.write(`\nFailed${e.code ? ` (${e.code})` : ''}: ${e.message ?? String(err)}\n`);
  }

  /** Seconds since the display was made. */
  totalSeconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  #finish(mark: string, title: string, t0: number): void {
    const seconds = ((performance.now() - t0) / 1000).toFixed(2).padStart(6);
    this.out.write(`${this.#tty ? '\r\x1b[2K' : ''}  ${mark} ${seconds} s  ${title}\n`);
  }
}

import { isWriteOutcomeUnknown } from '../errors.js';
import type { Logger } from './Logger.js';

/** Options of {@link Reverter} and {@link withReverter}. */
export interface ReverterOptions {
  /**
   * Where failed undo steps are reported, one warning each (a task logger, so the task ends
   * with `WARNINGS: n`). Without it they are only collected in {@link Reverter.undoErrors}.
   */
  readonly log?: Logger;
}

/**
 * Undo as you go (Incus's reverter): each step of a multi-step operation registers how to
 * undo itself; when a later step fails, {@link Reverter.fail} runs the undos, newest first.
 * {@link Reverter.success} marks the commit point: once the operation's result is recorded
 * (the config written), nothing it references may be undone, so call it right there and do
 * any later cleanup as best effort.
 *
 * ```ts
 * await withReverter(async (revert) => {
 *   const vol = await allocate(); revert.add(() => free(vol), `free ${vol}`);
 *   await writeConfig(vol);
 *   revert.success();                 // commit point
 *   await freeOldVolume().catch(warn); // after it: best effort, never undone
 * }, { log: task.logger });
 * ```
 *
 * An undo that fails does not mask the original error: it is logged as a warning
 * (`undo '<label>' failed: ...`) and kept in {@link undoErrors}.
 */
export class Reverter {
  #undos: Array<{ label: string; undo: () => unknown }> = [];
  #done = false;
  readonly #log: Logger | undefined;
  /** Errors thrown by undo steps during {@link fail}. */
  readonly undoErrors: Array<{ label: string; error: unknown }> = [];

  constructor(options: ReverterOptions = {}) {
    this.#log = options.log;
  }

  /** Registers an undo step; `label` names it in warnings and {@link undoErrors}. Ignored after success. */
  add(undo: () => unknown, label = 'undo'): void {
    if (this.#done) return;
    this.#undos.push({ label, undo });
  }

  /** True once {@link success} or {@link fail} ran. */
  get settled(): boolean {
    return this.#done;
  }

  /** The commit point: the undo steps are dropped, later `add`/`fail` calls do nothing. */
  success(): void {
    this.#done = true;
    this.#undos = [];
  }

  /**
   * Drops the undo steps without running them, one warning each (`kept '<label>': <why>`): for
   * a failure whose outcome is unknown (a config write that may have landed), where undoing
   * could free what a committed config names. What is kept is what a crash would leave.
   */
  abandon(why: string): void {
    if (this.#done) return;
    this.#done = true;
    for (const step of this.#undos.reverse()) this.#log?.warn(`not undone '${step.label}': ${why}`);
    this.#undos = [];
  }

  /** Runs every undo step, newest first; their errors are logged and collected, never thrown. */
  async fail(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const steps = this.#undos.reverse();
    this.#undos = [];
    for (const step of steps) {
      try {
        await step.undo();
      } catch (error) {
        this.undoErrors.push({ label: step.label, error });
        this.#log?.warn(`undo '${step.label}' failed: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }
}

/**
 * Runs `fn` with a fresh {@link Reverter}; when `fn` throws before calling
 * `revert.success()`, the undos run (newest first, failures logged to `options.log`) and the
 * original error is rethrown. When `fn` returns, the reverter succeeds. When the error is a
 * `WriteOutcomeUnknownError` (a config write that may have landed), the undos are abandoned
 * instead ({@link Reverter.abandon}): nothing a committed config could name is freed.
 */
export async function withReverter<T>(fn: (revert: Reverter) => Promise<T>, options: ReverterOptions = {}): Promise<T> {
  const revert = new Reverter(options);
  try {
    const out = await fn(revert);
    revert.success();
    return out;
  } catch (err) {
    if (isWriteOutcomeUnknown(err)) revert.abandon(`whether config '${err.path}' was written is unknown (guests.unlock and guests.rescan repair what is left)`);
    else await revert.fail();
    throw err;
  }
}

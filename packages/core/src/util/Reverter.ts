/**
 * Undo as you go: each step of a multi-step operation registers how to undo itself; when a
 * later step fails, {@link Reverter.fail} runs the undos in reverse order.
 *
 * ```ts
 * const revert = new Reverter();
 * try {
 *   const vol = await allocate(); revert.add(() => free(vol));
 *   await writeConfig();
 *   revert.success();
 * } catch (err) { await revert.fail(); throw err; }
 * ```
 *
 * Or with {@link withReverter}, which does the try/catch.
 */
export class Reverter {
  #undos: Array<{ label: string; undo: () => unknown }> = [];
  #done = false;
  /** Errors thrown by undo steps during the last {@link fail} (they never mask the original error). */
  readonly undoErrors: Array<{ label: string; error: unknown }> = [];

  /** Registers an undo step. `label` names it in {@link undoErrors}. */
  add(undo: () => unknown, label = 'undo'): void {
    this.#undos.push({ label, undo });
  }

  /** Marks the operation successful: the undo steps are dropped. */
  success(): void {
    this.#done = true;
    this.#undos = [];
  }

  /** Runs every undo step, newest first; errors are collected, not thrown. */
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
      }
    }
  }
}

/**
 * Runs `fn` with a fresh {@link Reverter}; on success the undos are dropped, on failure they
 * run (newest first) and the original error is rethrown.
 */
export async function withReverter<T>(fn: (revert: Reverter) => Promise<T>): Promise<T> {
  const revert = new Reverter();
  try {
    const out = await fn(revert);
    revert.success();
    return out;
  } catch (err) {
    await revert.fail();
    throw err;
  }
}

/**
 * Timing for the parser-safety benchmark (`bench/parser-safety.mjs`; tests assert no time): a
 * backtracking pattern is slow on every run, a pause of a busy machine (GC, other processes)
 * on one, so the fastest of three runs is what counts.
 */

/** The fastest of `runs` runs of `fn`, in ms (errors thrown by `fn` are ignored). */
export function fastestRunMs(fn: () => unknown, runs = 3): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    try {
      fn();
    } catch {
      // The checks time refusals too.
    }
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

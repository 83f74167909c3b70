/**
 * Bookkeeping of one fuzz run: every parser or serializer call goes through {@link FuzzRun.call},
 * which records a failure when it throws anything but a coded `CorralError` (and, given a time
 * bound, as the benchmark runs it, when it takes longer); {@link FuzzRun.expect} records a
 * broken property and {@link FuzzRun.roundTripped} counts the inputs whose round trip was checked.
 */
import { CorralError } from '../../src/errors.js';

/** Outcome of one call. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: CorralError };

/** Shortens an input for a failure report (JSON-escaped, so control characters are visible). */
export function show(input: unknown): string {
  const text = typeof input === 'string' ? input : (JSON.stringify(input, (_k, v: unknown) => (v instanceof Map ? [...v] : v)) ?? String(input));
  const json = JSON.stringify(text);
  return json.length > 300 ? `${json.slice(0, 200)}…(${text.length} chars)…${json.slice(-80)}` : json;
}

export class FuzzRun {
  readonly failures: string[] = [];
  /** Failures by kind, for the summary. */
  readonly kinds = new Map<string, number>();
  cases = 0;
  calls = 0;
  slowestMs = 0;
  slowestLabel = '';
  /** Inputs that were accepted and went through a round-trip check, by subject (e.g. `lxc conf`). */
  readonly roundTrips = new Map<string, number>();

  /**
   * @param maxMs - Time bound of one call (a backtracking pattern exceeds it), or `undefined`
   *   for none: tests assert no wall-clock bound, the parser-safety benchmark passes one.
   */
  constructor(readonly maxMs?: number) {}

  #fail(kind: string, message: string): void {
    const seen = this.kinds.get(kind) ?? 0;
    this.kinds.set(kind, seen + 1);
    // The first two of each kind, at most 40 in all: enough to see every bug without a flood.
    if (seen < 2 && this.failures.length < 40) this.failures.push(message);
  }

  /** Runs `fn`, timing it; a non-coded error or a call over the bound is a failure. */
  call<T>(label: string, input: unknown, fn: () => T): CallResult<T> {
    this.calls++;
    const once = (): { result: CallResult<T> | { crash: unknown }; ms: number } => {
      const started = performance.now();
      try {
        const value = fn();
        return { result: { ok: true, value }, ms: performance.now() - started };
      } catch (error) {
        const ms = performance.now() - started;
        return { result: error instanceof CorralError ? { ok: false, error } : { crash: error }, ms };
      }
    };
    let { result, ms } = once();
    const maxMs = this.maxMs;
    if (maxMs !== undefined) {
      // Up to two retries: a pause of the machine (GC, other processes) is not a backtracking
      // pattern, which is slow every time.
      for (let retry = 0; retry < 2 && ms > maxMs; retry++) ms = Math.min(ms, once().ms);
      if (ms > maxMs) this.#fail(`${label}: slow`, `${label}: took ${Math.round(ms)} ms (bound ${maxMs} ms) on ${show(input)}`);
    }
    if (ms > this.slowestMs) {
      this.slowestMs = ms;
      this.slowestLabel = label;
    }
    if ('crash' in result) {
      const e = result.crash as Error;
      this.#fail(`${label}: ${e?.constructor?.name ?? typeof e}`, `${label}: uncoded ${e?.constructor?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 160)} on ${show(input)}`);
      return { ok: false, error: new CorralError('CORRAL_ERR_INTERNAL', 'uncoded error') };
    }
    return result;
  }

  /** Counts one accepted input of `subject` whose round trip was checked (passed or not). */
  roundTripped(subject: string): void {
    this.roundTrips.set(subject, (this.roundTrips.get(subject) ?? 0) + 1);
  }

  /** Records a broken property unless `condition` holds. */
  expect(condition: boolean, label: string, input: unknown, message: string): void {
    if (!condition) this.#fail(label, `${label}: ${message} for ${show(input)}`);
  }
}

/**
 * Child processes running `fixtures/raceChild` on a node's data dir: the second (and third)
 * real process of the cross-process tests.
 *
 * @packageDocumentation
 */
import type { ExecutionContext } from 'ava';
import { spawnChild, type Child } from '@corral/core/testing';

/** One child's job: `count` runs of `op` for guest `vmid` (see fixtures/raceChild for the ops and `arg`). */
export interface RaceRun {
  readonly op: string;
  readonly vmid: number;
  readonly count: number;
  readonly arg?: string;
}

const raceChildScript = new URL('../fixtures/raceChild.js', import.meta.url);

/** Spawns one race child for `run` on the node under `base`; it prints "ready", then waits for "go". */
export function spawnRaceChild(base: string, run: RaceRun): Child {
  return spawnChild(raceChildScript, [base, run.op, String(run.vmid), String(run.count), ...(run.arg === undefined ? [] : [run.arg])]);
}

/** The `ok ...` and `err ...` lines (one per run of the op) a race child printed so far. */
export function resultLines(child: Child): string[] {
  return child.lines().filter((l) => l.startsWith('ok ') || l.startsWith('err '));
}

/**
 * Starts one child per run, waits until each is ready, then lets them all go at once; resolves
 * with each child's result lines once all are done. The children are killed when the test ends.
 */
export async function race(t: ExecutionContext, base: string, runs: readonly RaceRun[]): Promise<string[][]> {
  const children: Child[] = runs.map((r) => spawnRaceChild(base, r));
  t.teardown(() => children.forEach((c) => c.kill()));
  await Promise.all(children.map((c) => c.waitFor(/^ready$/, 20_000)));
  for (const c of children) c.send('go');
  await Promise.all(children.map((c) => c.waitFor(/^done$/, 120_000)));
  return children.map(resultLines);
}

/**
 * Freezes a race child (SIGSTOP): it keeps every lock it holds and does nothing more, so a test
 * can act while an operation is provably in progress. {@link resume} lets it go on.
 */
export function freeze(child: Child): void {
  process.kill(child.process.pid!, 'SIGSTOP');
}

/** Resumes a child frozen with SIGSTOP (no-op when it is gone), so that a kill reaches it. */
export function resume(child: Child): void {
  try {
    if (child.process.pid !== undefined) process.kill(child.process.pid, 'SIGCONT');
  } catch {
    // Already gone.
  }
}

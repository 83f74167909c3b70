import type { ExecutionContext } from 'ava';
import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

/** True in CI: the environment variable `CI` is `true` (as GitHub Actions, GitLab and `.ci/run` set it). */
export function runningInCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true';
}

/** Options of {@link testSeeds}. */
export interface TestSeedOptions {
  /** The environment variable that replays one seed, e.g. `CORRAL_FUZZ_SEED`. */
  readonly env: string;
  /** The fixed seeds (32-bit unsigned integers) every run uses; CI runs only these. At least one. */
  readonly fixed: readonly number[];
}

/** The seeds a seeded test runs with, and a line saying where they came from. */
export interface TestSeeds {
  readonly seeds: readonly number[];
  /** For the test log, e.g. `seeds 1 (fixed), 3141592653 (random, outside CI); CORRAL_FUZZ_SEED=<seed> replays one`. */
  readonly summary: string;
}

function isSeed(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/**
 * Chooses the seeds of a seeded (fuzz or random-moment) test, one rule for every such test:
 *
 * - `options.env` set (e.g. `CORRAL_FUZZ_SEED=42`): that seed alone, to replay a run;
 * - in CI (`CI=true`): the fixed seeds alone, so CI does not depend on chance;
 * - elsewhere: the fixed seeds, then one random extra seed (different from them), so local
 *   runs keep exploring.
 *
 * Print {@link TestSeeds.summary} (see {@link seedsFor}) so that any run can be replayed.
 *
 * @param env - The environment to read (default `process.env`).
 * @throws InvalidArgumentError when a fixed seed or the replay variable is not an integer
 *   from 0 to 2^32-1, or no fixed seed is given.
 */
export function testSeeds(options: TestSeedOptions, env: NodeJS.ProcessEnv = process.env): TestSeeds {
  if (options.fixed.length === 0 || !options.fixed.every(isSeed)) {
    throw new InvalidArgumentError('fixed', `fixed seeds must be integers from 0 to ${0xffffffff}, at least one: got [${options.fixed.join(', ')}]`);
  }
  const replay = env[options.env];
  if (replay !== undefined && replay !== '') {
    const seed = Number(replay);
    if (!/^\d+$/.test(replay) || !isSeed(seed)) throw new InvalidArgumentError(options.env, `${options.env} must be an integer from 0 to ${0xffffffff}, got '${replay}'`);
    return { seeds: [seed], summary: `seed ${seed} (from ${options.env})` };
  }
  const fixed = [...options.fixed];
  const replayHint = `${options.env}=<seed> replays one`;
  if (runningInCi(env)) return { seeds: fixed, summary: `seeds ${fixed.join(', ')} (fixed, CI); ${replayHint}` };
  let extra: number;
  do extra = randomInt(0, 2 ** 32);
  while (fixed.includes(extra));
  return { seeds: [...fixed, extra], summary: `seeds ${fixed.join(', ')} (fixed), ${extra} (random, outside CI); ${replayHint}` };
}

/** {@link testSeeds}, with the summary written to the test's log. */
export function seedsFor(t: Pick<ExecutionContext, 'log'>, options: TestSeedOptions): readonly number[] {
  const chosen = testSeeds(options);
  t.log(chosen.summary);
  return chosen.seeds;
}

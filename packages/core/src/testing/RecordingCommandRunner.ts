import { CommandFailedError, InternalError } from '../errors.js';
import type { CommandRunner, RunOptions, RunResult } from '../exec/CommandRunner.js';

/** One scripted answer of a {@link RecordingCommandRunner}. */
export interface ScriptedCommand {
  /** Matches argv exactly (array), by prefix (`{ prefix }`), or by predicate. */
  readonly match: readonly string[] | { prefix: readonly string[] } | ((argv: readonly string[]) => boolean);
  /** Output recorded from the real tool (name the tool and version where the fixture is defined). */
  readonly stdout?: string;
  readonly stderr?: string;
  /** Exit code; non-zero rejects with `CommandFailedError` like the real runner. Default 0. */
  readonly exitCode?: number;
  /** Answer only once (default: every matching call). */
  readonly once?: boolean;
}

/** A call seen by a {@link RecordingCommandRunner}. */
export interface RecordedCall {
  readonly argv: readonly string[];
  readonly options: RunOptions;
}

function matches(rule: ScriptedCommand['match'], argv: readonly string[]): boolean {
  if (typeof rule === 'function') return rule(argv);
  if (Array.isArray(rule)) return rule.length === argv.length && rule.every((a, i) => a === argv[i]);
  const { prefix } = rule as { prefix: readonly string[] };
  return prefix.every((a, i) => a === argv[i]);
}

/**
 * A {@link CommandRunner} for tests that check argv: it records every call and answers from a
 * script of recorded outputs. A command nobody scripted fails the test (`InternalError`
 * naming the argv), as pve-storage's disklist test dies on an unexpected command; or, with
 * `fallback`, goes to a real runner.
 */
export class RecordingCommandRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  readonly #script: ScriptedCommand[];
  readonly #used = new Set<ScriptedCommand>();

  constructor(script: readonly ScriptedCommand[] = [], private readonly fallback?: CommandRunner) {
    this.#script = [...script];
  }

  /** Adds scripted answers (checked after the earlier ones). */
  script(...commands: ScriptedCommand[]): this {
    this.#script.push(...commands);
    return this;
  }

  /** The argv of every call, in order. */
  get argvs(): string[][] {
    return this.calls.map((c) => [...c.argv]);
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], options });
    const rule = this.#script.find((r) => matches(r.match, argv) && !(r.once && this.#used.has(r)));
    if (!rule) {
      if (this.fallback) return this.fallback.run(argv, options);
      throw new InternalError(`unexpected command: ${JSON.stringify(argv)}`);
    }
    this.#used.add(rule);
    const exitCode = rule.exitCode ?? 0;
    const okCodes = options.okExitCodes ?? [0];
    if (!okCodes.includes(exitCode)) throw new CommandFailedError(argv, exitCode, rule.stderr ?? '');
    if (options.stdoutStream && rule.stdout) {
      await new Promise<void>((res, rej) => options.stdoutStream!.end(rule.stdout, () => res()).on('error', rej));
    }
    return {
      argv,
      exitCode,
      stdout: options.stdoutStream ? '' : (rule.stdout ?? ''),
      stderr: rule.stderr ?? '',
      truncated: false,
      durationMs: 0,
    };
  }
}

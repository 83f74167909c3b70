import { readFileSync } from 'node:fs';
import type { ScriptedCommand } from '@corral/core/testing';

/** One recorded tool run of test/fixtures (see recordIscsiFixtures.ts for the header format). */
export interface RecordedRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Reads `test/fixtures/<name>`: its stdout, stderr and exit code without the header. */
export function recorded(name: string): RecordedRun {
  const text = readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8');
  const exit = /^# exit: (\d+)$/m.exec(text);
  const out = text.indexOf('# --- stdout\n');
  const err = text.indexOf('# --- stderr\n');
  if (!exit || out < 0 || err < 0) throw new Error(`fixture ${name} has no exit/stdout/stderr header`);
  return { exitCode: Number(exit[1]), stdout: text.slice(out + 13, err), stderr: text.slice(err + 13) };
}

/** A RecordingCommandRunner rule answering `match` with the recorded run `name`. */
export function answer(match: ScriptedCommand['match'], name: string): ScriptedCommand {
  return { match, ...recorded(name) };
}

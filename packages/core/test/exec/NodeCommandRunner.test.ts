import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { AbortedError, CommandFailedError, CommandTimeoutError, ErrorCodes, InvalidArgumentError, NodeCommandRunner, NotFoundError } from '../../src/index.js';
import { makeTempDir } from '../../src/testing/tempDir.js';

const runner = new NodeCommandRunner();

test('captures stdout, stderr and the exit code of a real program', async (t) => {
  const res = await runner.run(['sh', '-c', 'echo out; echo err >&2']);
  t.is(res.exitCode, 0);
  t.is(res.stdout, 'out\n');
  t.is(res.stderr, 'err\n');
  t.deepEqual(res.argv, ['sh', '-c', 'echo out; echo err >&2']);
  t.false(res.truncated);
});

test('argv is passed as is, never through a shell', async (t) => {
  const res = await runner.run(['printf', '%s|', 'a b', '$(id)', ';rm -rf /', '*']);
  t.is(res.stdout, 'a b|$(id)|;rm -rf /|*|');
});

test('a non-zero exit rejects with CommandFailedError carrying argv, exit code and stderr', async (t) => {
  const err = await t.throwsAsync(runner.run(['sh', '-c', 'echo bad thing >&2; exit 3']), { instanceOf: CommandFailedError });
  t.is(err?.code, ErrorCodes.commandFailed);
  t.deepEqual(err?.argv, ['sh', '-c', 'echo bad thing >&2; exit 3']);
  t.is(err?.exitCode, 3);
  t.is(err?.stderr, 'bad thing\n');
  t.regex(err!.message, /exited with code 3: bad thing/);
});

test('okExitCodes accepts other exit codes', async (t) => {
  const res = await runner.run(['sh', '-c', 'exit 2'], { okExitCodes: [0, 2] });
  t.is(res.exitCode, 2);
});

/** argv of a program that writes its pid to `pidFile` and then sleeps far longer than any test runs. */
const sleeper = (pidFile: string): string[] => ['sh', '-c', 'echo $$ > "$1"; exec sleep 100000', 'sh', pidFile];

/** Asserts that the process whose pid is in `pidFile` is gone (killed and reaped). */
async function assertGone(t: ExecutionContext, pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  t.true(pid > 1, `pid ${pid}`);
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is gone`);
}

/** Waits until the program of {@link sleeper} runs (it wrote its pid). */
async function started(pidFile: string): Promise<void> {
  while (!existsSync(pidFile) || (await readFile(pidFile, 'utf8')).trim() === '') await new Promise((r) => setTimeout(r, 10));
}

test('a timeout kills the program and rejects with CommandTimeoutError', async (t) => {
  const pidFile = join(await makeTempDir(t, 'corral-runner-'), 'pid');
  // The timeout counts from the spawn; a loaded machine may start the shell later than that.
  // Then there is no pid to check and the run is repeated with a longer timeout.
  for (const timeoutMs of [200, 2_000, 20_000]) {
    const err = await t.throwsAsync(runner.run(sleeper(pidFile), { timeoutMs }), { instanceOf: CommandTimeoutError });
    t.is(err?.timeoutMs, timeoutMs);
    if (existsSync(pidFile) && (await readFile(pidFile, 'utf8')).trim() !== '') break;
  }
  // The rejection came from the kill, not from the program ending by itself (it would sleep for a day).
  await assertGone(t, pidFile);
});

test('an AbortSignal kills the program and rejects with AbortedError', async (t) => {
  const pidFile = join(await makeTempDir(t, 'corral-runner-'), 'pid');
  const ac = new AbortController();
  const run = runner.run(sleeper(pidFile), { signal: ac.signal });
  await started(pidFile);
  ac.abort();
  await t.throwsAsync(run, { instanceOf: AbortedError });
  await assertGone(t, pidFile);
  await t.throwsAsync(runner.run(['true'], { signal: ac.signal }), { instanceOf: AbortedError });
});

test('a signal death is reported', async (t) => {
  const err = await t.throwsAsync(runner.run(['sh', '-c', 'kill -TERM $$']), { instanceOf: CommandFailedError });
  t.is(err?.signal, 'SIGTERM');
  t.is(err?.exitCode, null);
});

test('output beyond the cap is cut and flagged', async (t) => {
  const res = await runner.run(['head', '-c', '100000', '/dev/zero'], { maxOutputBytes: 1000 });
  t.is(res.stdout.length, 1000);
  t.true(res.truncated);
});

test('env is merged over the base environment and cwd is honoured', async (t) => {
  const res = await runner.run(['sh', '-c', 'echo "$CORRAL_X:$LC_ALL:$(pwd)"'], { env: { CORRAL_X: 'yes' }, cwd: '/tmp' });
  t.is(res.stdout, 'yes:C:/tmp\n');
});

test('input and streams are piped', async (t) => {
  t.is((await runner.run(['cat'], { input: 'hello' })).stdout, 'hello');
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await runner.run(['cat'], { stdinStream: Readable.from([Buffer.from('streamed')]), stdoutStream: sink });
  t.is(Buffer.concat(chunks).toString(), 'streamed');
});

test('a missing program rejects with NotFoundError', async (t) => {
  const err = await t.throwsAsync(runner.run(['/nonexistent/corral-program']), { instanceOf: NotFoundError });
  t.is(err?.kind, 'program');
});

const refusedBeforeSpawn: Array<{ description: string; argv: string[]; options: { env?: Record<string, string>; cwd?: string }; argument: string }> = [
  { description: 'a NUL in an argument', argv: ['touch', 'MARKER', 'a\0b'], options: {}, argument: 'argv' },
  { description: 'a NUL in the program name', argv: ['tou\0ch', 'MARKER'], options: {}, argument: 'argv' },
  { description: 'a NUL in an environment value', argv: ['touch', 'MARKER'], options: { env: { X: 'a\0b' } }, argument: 'env' },
  { description: "'=' in an environment name", argv: ['touch', 'MARKER'], options: { env: { 'A=B': 'x' } }, argument: 'env' },
  { description: 'a NUL in an environment name', argv: ['touch', 'MARKER'], options: { env: { 'A\0B': 'x' } }, argument: 'env' },
  { description: 'a NUL in the working directory', argv: ['touch', 'MARKER'], options: { cwd: '/tmp\0/x' }, argument: 'cwd' },
];

for (const row of refusedBeforeSpawn) {
  test(`refuses ${row.description} with InvalidArgumentError before anything runs`, async (t) => {
    const dir = await makeTempDir(t, 'corral-runner-');
    const marker = join(dir, 'ran');
    const argv = row.argv.map((a) => a.replace('MARKER', marker));
    const err = await t.throwsAsync(runner.run(argv, row.options), { instanceOf: InvalidArgumentError });
    t.is(err?.argument, row.argument);
    t.false(existsSync(marker), 'the program did not run');
  });
}

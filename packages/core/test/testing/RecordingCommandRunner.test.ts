import test from 'ava';
import { CommandFailedError, ErrorCodes, NodeCommandRunner } from '../../src/index.js';
import { RecordingCommandRunner } from '../../src/testing/index.js';

test('records argv and answers scripted output', async (t) => {
  const runner = new RecordingCommandRunner([
    { match: ['zpool', 'list'], stdout: 'tank\n' },
    { match: { prefix: ['zfs', 'get'] }, stdout: 'tank\tused\t1\t-\n' },
  ]);
  t.is((await runner.run(['zpool', 'list'])).stdout, 'tank\n');
  t.is((await runner.run(['zfs', 'get', '-Hp', 'used', 'tank'])).stdout, 'tank\tused\t1\t-\n');
  t.deepEqual(runner.argvs, [
    ['zpool', 'list'],
    ['zfs', 'get', '-Hp', 'used', 'tank'],
  ]);
});

test('an unexpected command fails loudly', async (t) => {
  const runner = new RecordingCommandRunner([{ match: ['true'] }]);
  const err = await t.throwsAsync(runner.run(['rm', '-rf', '/']));
  t.is((err as { code?: string }).code, ErrorCodes.internal);
  t.regex(err!.message, /unexpected command: \["rm","-rf","\/"\]/);
});

test('scripted non-zero exits reject like the real runner, once-rules are used once', async (t) => {
  const runner = new RecordingCommandRunner([
    { match: ['rbd', 'map', 'x'], exitCode: 1, stderr: 'rbd: map failed', once: true },
    { match: ['rbd', 'map', 'x'], stdout: '/dev/rbd0\n' },
  ]);
  const err = await t.throwsAsync(runner.run(['rbd', 'map', 'x']), { instanceOf: CommandFailedError });
  t.is(err?.exitCode, 1);
  t.is((await runner.run(['rbd', 'map', 'x'])).stdout, '/dev/rbd0\n');
});

test('falls back to a real runner when given one', async (t) => {
  const runner = new RecordingCommandRunner([], new NodeCommandRunner());
  t.is((await runner.run(['echo', 'real'])).stdout, 'real\n');
  t.is(runner.calls.length, 1);
});

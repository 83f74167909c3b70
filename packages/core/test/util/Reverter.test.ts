import test from 'ava';
import { Reverter, withReverter } from '../../src/index.js';

test('fail runs undo steps newest first and keeps going after one throws', async (t) => {
  const done: string[] = [];
  const r = new Reverter();
  r.add(() => done.push('first'));
  r.add(() => {
    throw new Error('undo broke');
  }, 'broken');
  r.add(async () => done.push('third'));
  await r.fail();
  t.deepEqual(done, ['third', 'first']);
  t.is(r.undoErrors.length, 1);
  t.is(r.undoErrors[0]!.label, 'broken');
  await r.fail();
  t.deepEqual(done, ['third', 'first'], 'a second fail does nothing');
});

test('success drops the undo steps', async (t) => {
  const done: string[] = [];
  const r = new Reverter();
  r.add(() => done.push('x'));
  r.success();
  await r.fail();
  t.deepEqual(done, []);
});

test('withReverter undoes on failure and rethrows the original error', async (t) => {
  const done: string[] = [];
  await t.throwsAsync(
    withReverter(async (r) => {
      r.add(() => done.push('freed volume'));
      throw new Error('later step failed');
    }),
    { message: 'later step failed' },
  );
  t.deepEqual(done, ['freed volume']);
  t.is(await withReverter(async (r) => (r.add(() => done.push('never')), 42)), 42);
  t.deepEqual(done, ['freed volume']);
});

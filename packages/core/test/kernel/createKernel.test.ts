import test from 'ava';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { coreServices, createKernel, ErrorCodes, InvalidArgumentError, ROOT_CALLER } from '../../src/index.js';
import { createTestKernel, makeTempDir, RecordingCommandRunner } from '../../src/testing/index.js';

test('creates its directories and provides every core service', async (t) => {
  const dir = await makeTempDir(t);
  const kernel = await createKernel({ node: 'n1', dataDir: join(dir, 'd'), runDir: join(dir, 'r') });
  t.teardown(() => kernel.dispose());
  t.true((await stat(join(dir, 'd'))).isDirectory());
  t.true((await stat(join(dir, 'r'))).isDirectory());
  for (const ref of Object.values(coreServices)) t.truthy(kernel.get(ref as never), ref.id);
  t.is(kernel.get(coreServices.storage), kernel.storage);
  t.is(kernel.get(coreServices.guests), kernel.guests);
});

test('refuses a bad node name', async (t) => {
  const dir = await makeTempDir(t);
  const err = await t.throwsAsync(createKernel({ node: 'bad name!', dataDir: dir, runDir: dir }), { instanceOf: InvalidArgumentError });
  t.is(err?.argument, 'node');
});

test('an injected command runner is the one services get', async (t) => {
  const runner = new RecordingCommandRunner();
  const kernel = await createTestKernel(t, { commandRunner: runner });
  t.is(kernel.get(coreServices.commandRunner), runner);
});

test('two kernels do not share services (no global container)', async (t) => {
  const a = await createTestKernel(t);
  const b = await createTestKernel(t);
  t.not(a.get(coreServices.configStore), b.get(coreServices.configStore));
  t.not(a.storage, b.storage);
});

test('storage facade reports unknown storages and types with coded errors', async (t) => {
  const kernel = await createTestKernel(t);
  await t.throwsAsync(kernel.storage.get('nope'), { code: ErrorCodes.notFound });
  const err = await t.throwsAsync(kernel.storage.add('x1', 'no-such-type', {}, { caller: ROOT_CALLER }), { code: ErrorCodes.invalidConfig });
  t.regex(err!.message, /unknown storage type 'no-such-type'/);
  t.is(await kernel.config.read('storage.cfg'), null, 'nothing written');
});

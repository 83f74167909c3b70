import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { coreServices, createKernel, ErrorCodes, InvalidArgumentError, MemoryLogger, ROOT_CALLER } from '../../src/index.js';
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

test('at start, the kernel removes temp files of config writes whose process died, anywhere in the store but the task logs', async (t) => {
  const dir = await makeTempDir(t);
  const dataDir = join(dir, 'd');
  // A pid that cannot be alive: above the kernel's pid_max limit.
  const dead = 4_194_305;
  const stale = [join(dataDir, '.storage.cfg.tmp-' + dead + '-0a1b2c'), join(dataDir, 'nodes', 'n1', 'qemu-server', `.100.conf.tmp-${dead}-ffee00`)];
  const kept = [join(dataDir, 'nodes', 'n1', 'qemu-server', `.101.conf.tmp-${process.pid}-00aa11`), join(dataDir, 'tasks', `.index.tmp-${dead}-abcdef`)];
  for (const f of [...stale, ...kept]) {
    await mkdir(join(f, '..'), { recursive: true });
    await writeFile(f, 'half a config');
  }
  const logger = new MemoryLogger();
  const kernel = await createKernel({ node: 'n1', dataDir, runDir: join(dir, 'r'), logger });
  t.teardown(() => kernel.dispose());
  for (const f of stale) t.false(existsSync(f), `${f} removed`);
  for (const f of kept) t.true(existsSync(f), `${f} kept (a live writer's, or a task log)`);
  t.true(logger.lines.some((l) => /removed 2 stale temp file/.test(l.message)));
});

test("the default lock manager is host-wide: a second kernel on the same data dir waits for the first one's guest lock", async (t) => {
  const dir = await makeTempDir(t);
  const options = { node: 'n1', dataDir: join(dir, 'd'), runDir: join(dir, 'r') };
  const a = await createKernel(options);
  const b = await createKernel(options);
  t.teardown(async () => {
    await a.dispose();
    await b.dispose();
  });
  const lease = await a.get(coreServices.lockManager).acquire('guest:100');
  await t.throwsAsync(b.get(coreServices.lockManager).acquire('guest:100', { timeoutMs: 50 }), { code: ErrorCodes.lockTimeout });
  await lease.release();
  await (await b.get(coreServices.lockManager).acquire('guest:100', { timeoutMs: 1_000 })).release();
  // Another data dir is another lock space.
  const c = await createKernel({ ...options, dataDir: join(dir, 'other') });
  t.teardown(() => c.dispose());
  const held = await a.get(coreServices.lockManager).acquire('guest:100');
  await (await c.get(coreServices.lockManager).acquire('guest:100', { timeoutMs: 0 })).release();
  await held.release();
});

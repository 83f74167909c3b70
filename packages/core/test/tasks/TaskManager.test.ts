import test from 'ava';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, InvalidArgumentError, NotFoundError } from '../../src/errors.js';
import { EventBus } from '../../src/events/EventBus.js';
import { TaskManager } from '../../src/tasks/TaskManager.js';
import { encodeUpid, parseUpid, processStartTicks, upidLogSubdir } from '../../src/tasks/Upid.js';

function dataDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(join(tmpdir(), 'corral-tasks-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function recordEvents(events: EventBus): string[] {
  const seen: string[] = [];
  events.on('task:start', (e) => seen.push(`start ${e.type}:${e.id}`));
  events.on('task:log', (e) => seen.push(`log ${e.line}`));
  events.on('task:progress', (e) => seen.push(`progress ${e.progress}`));
  events.on('task:end', (e) => seen.push(`end ${e.status} ${e.exitstatus}`));
  return seen;
}

test('lifecycle: UPID, log, progress, result, events in order, state readable by a new manager', async (t) => {
  const dir = dataDir(t);
  const events = new EventBus();
  const seen = recordEvents(events);
  const tasks = new TaskManager({ dataDir: dir, node: 'pve1', events });
  const before = Math.floor(Date.now() / 1000);
  const running = tasks.run({ type: 'qmstart', id: '100', user: 'root@pam' }, async (task) => {
    task.log('starting VM 100');
    task.progress(0.5);
    // Visible while running, to this and any other reader.
    t.is((await tasks.get(task.upid)).status, 'running');
    t.is((await tasks.get(task.upid)).progress, 0.5);
    t.deepEqual((await tasks.readLog(task.upid)).lines, [{ n: 1, t: 'starting VM 100' }]);
    t.is((await new TaskManager({ dataDir: dir, node: 'pve1' }).get(task.upid)).status, 'running');
    task.logger.info('multi\nline', { pid: 42 });
    task.progress(1);
    return 'done';
  });
  const fields = parseUpid(running.upid);
  t.like(fields, { node: 'pve1', pid: process.pid, pstart: processStartTicks()!, type: 'qmstart', id: '100', user: 'root@pam' });
  t.true(fields.starttime >= before);
  t.is(await running.result, 'done');

  t.deepEqual(seen, [
    'start qmstart:100',
    'log starting VM 100',
    'progress 0.5',
    'log multi',
    'log line {"pid":42}',
    'progress 1',
    'end ok OK',
  ]);

  const logFile = join(dir, 'tasks', 'pve1', upidLogSubdir(running.upid), running.upid);
  t.is(fs.readFileSync(logFile, 'utf8'), 'starting VM 100\nmulti\nline {"pid":42}\nTASK OK\n');

  const fresh = new TaskManager({ dataDir: dir, node: 'pve1' });
  const info = await fresh.get(running.upid);
  t.like(info, { upid: running.upid, status: 'ok', exitstatus: 'OK', type: 'qmstart', id: '100' });
  t.true(info.endtime! >= fields.starttime);
  const log = await fresh.readLog(running.upid, { start: 1, limit: 2 });
  t.deepEqual(log, { total: 4, lines: [{ n: 2, t: 'multi' }, { n: 3, t: 'line {"pid":42}' }] });
  t.deepEqual((await fresh.list()).map((x) => x.upid), [running.upid]);
  t.deepEqual(await fresh.list({ running: true }), []);
});

test('a failing task ends with status error and the first line of the message', async (t) => {
  const events = new EventBus();
  const seen = recordEvents(events);
  const tasks = new TaskManager({ dataDir: dataDir(t), node: 'pve1', events });
  const r = tasks.run({ type: 'qmcreate', id: '101', user: 'root@pam' }, async (task) => {
    task.log('allocating disk');
    throw new Error('storage full\nsecond line');
  });
  await t.throwsAsync(r.result, { message: /storage full/ });
  t.like(await tasks.get(r.upid), { status: 'error', exitstatus: 'storage full' });
  t.is((await tasks.readLog(r.upid)).lines.at(-1)?.t, 'TASK ERROR: storage full');
  t.deepEqual(seen, ['start qmcreate:101', 'log allocating disk', 'end error storage full']);
  t.deepEqual((await tasks.list({ errors: true })).map((x) => x.upid), [r.upid]);
});

test('warnings end the task as ok with WARNINGS: n', async (t) => {
  const tasks = new TaskManager({ dataDir: dataDir(t), node: 'pve1' });
  const r = tasks.run({ type: 'vzdump', id: '100', user: 'root@pam' }, async (task) => {
    task.logger.warn('guest agent not running');
    task.logger.warn('skipping disk');
    task.logger.debug('dropped');
  });
  await r.result;
  t.like(await tasks.get(r.upid), { status: 'ok', exitstatus: 'WARNINGS: 2' });
  t.deepEqual(
    (await tasks.readLog(r.upid)).lines.map((l) => l.t),
    ['WARN: guest agent not running', 'WARN: skipping disk', 'TASK WARNINGS: 2'],
  );
});

test('cancellation through abort() and through the caller signal ends with error "aborted"', async (t) => {
  const events = new EventBus();
  const seen = recordEvents(events);
  const dir = dataDir(t);
  const tasks = new TaskManager({ dataDir: dir, node: 'pve1', events });
  const waitForAbort = async (task: { signal: AbortSignal; log(l: string): void }): Promise<never> => {
    task.log('waiting');
    await sleep(10_000, undefined, { signal: task.signal });
    throw new Error('not reached');
  };
  const r1 = tasks.run({ type: 'qmshutdown', id: '100', user: 'root@pam' }, waitForAbort);
  await sleep(20);
  r1.abort();
  const e1 = await t.throwsAsync(r1.result);
  t.true(e1 instanceof Error);
  t.like(await tasks.get(r1.upid), { status: 'error', exitstatus: 'aborted' });
  t.deepEqual(seen, ['start qmshutdown:100', 'log waiting', 'log abort requested', 'end error aborted']);

  const ac = new AbortController();
  const r2 = tasks.run({ type: 'qmshutdown', id: '101', user: 'root@pam' }, async (task) => {
    await sleep(10_000, undefined, { signal: task.signal });
  }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await t.throwsAsync(r2.result);
  t.like(await new TaskManager({ dataDir: dir, node: 'pve1' }).get(r2.upid), { status: 'error', exitstatus: 'aborted' });

  // Already aborted signal: the function sees an aborted signal and throwIfAborted throws AbortedError.
  const r3 = tasks.run({ type: 'qmstop', id: '102', user: 'root@pam' }, async (task) => task.throwIfAborted(), {
    signal: AbortSignal.abort(),
  });
  await t.throwsAsync(r3.result, { instanceOf: AbortedError });
  t.is((await tasks.get(r3.upid)).exitstatus, 'aborted');
  // manager-level abort of a finished task: false
  t.false(tasks.abort(r3.upid));
});

test('tasks with the same spec in the same second get distinct UPIDs', async (t) => {
  const tasks = new TaskManager({ dataDir: dataDir(t), node: 'pve1' });
  const runs = Array.from({ length: 20 }, () => tasks.run({ type: 'qmconfig', id: '100', user: 'root@pam' }, async () => 1));
  t.is(new Set(runs.map((r) => r.upid)).size, 20);
  await Promise.all(runs.map((r) => r.result));
  const listed = await tasks.list({ limit: 100 });
  t.is(listed.length, 20);
  t.true(listed.every((x, i) => i === 0 || listed[i - 1]!.starttime >= x.starttime));
  t.is((await tasks.list({ limit: 5 })).length, 5);
  t.is((await tasks.list({ id: '999' })).length, 0);
});

test('list shows running tasks and filters; a task of a dead process becomes "unexpected status"', async (t) => {
  const dir = dataDir(t);
  const tasks = new TaskManager({ dataDir: dir, node: 'pve1' });
  let finish!: () => void;
  const r = tasks.run({ type: 'vzstart', id: '200', user: 'root@pam' }, () => new Promise<void>((res) => (finish = res)));
  await sleep(5);
  // A task left "active" by a process that is gone (same pid, other start time).
  const dead = encodeUpid({ node: 'pve1', pid: process.pid, pstart: processStartTicks()! + 1, starttime: 1_000, type: 'qmstart', id: '300', user: 'root@pam' });
  fs.mkdirSync(join(dir, 'tasks/pve1', upidLogSubdir(dead)), { recursive: true });
  fs.writeFileSync(join(dir, 'tasks/pve1', upidLogSubdir(dead), dead), 'starting\n');
  fs.mkdirSync(join(dir, 'tasks/pve1/active'), { recursive: true });
  fs.writeFileSync(join(dir, 'tasks/pve1/active', dead), '');

  const other = new TaskManager({ dataDir: dir, node: 'pve1' });
  const running = await other.list({ running: true });
  t.deepEqual(running.map((x) => [x.upid, x.status]), [[r.upid, 'running']]);
  t.like(await other.get(dead), { status: 'error', exitstatus: 'unexpected status' });
  t.false(fs.existsSync(join(dir, 'tasks/pve1/active', dead)));
  t.deepEqual((await tasks.list({ type: 'qmstart' })).map((x) => x.upid), [dead]);
  finish();
  await r.result;
  t.deepEqual(await tasks.list({ running: true }), []);
});

test('errors: unknown UPID, bad UPID, bad progress, bad spec', async (t) => {
  const tasks = new TaskManager({ dataDir: dataDir(t), node: 'pve1' });
  const unknown = encodeUpid({ node: 'pve1', pid: 1, pstart: 1, starttime: 1, type: 'x', id: '', user: 'root@pam' });
  await t.throwsAsync(tasks.get(unknown), { instanceOf: NotFoundError });
  await t.throwsAsync(tasks.readLog(unknown), { instanceOf: NotFoundError });
  await t.throwsAsync(tasks.get('nope'), { instanceOf: InvalidArgumentError });
  t.throws(() => tasks.run({ type: 'bad type', user: 'root@pam' }, async () => 1), { instanceOf: InvalidArgumentError });
  t.throws(() => new TaskManager({ dataDir: '/tmp', node: 'bad_node' }), { instanceOf: InvalidArgumentError });
  const r = tasks.run({ type: 'x', user: 'root@pam' }, async (task) => task.progress(1.5));
  await t.throwsAsync(r.result, { instanceOf: InvalidArgumentError });
  t.is((await tasks.get(r.upid)).status, 'error');
});

test('a rejected result nobody awaits is not an unhandled rejection', async (t) => {
  const tasks = new TaskManager({ dataDir: dataDir(t), node: 'pve1' });
  let unhandled = false;
  const onUnhandled = (): void => {
    unhandled = true;
  };
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  const r = tasks.run({ type: 'x', user: 'root@pam' }, async () => {
    throw new Error('ignored');
  });
  await sleep(100);
  t.false(unhandled);
  await t.throwsAsync(r.result, { message: 'ignored' });
  t.is((await tasks.get(r.upid)).exitstatus, 'ignored');
});

test('a task user that would lead the log path out of the task directory is refused, and nothing is written', async (t) => {
  const dir = dataDir(t);
  const tasks = new TaskManager({ dataDir: dir, node: 'pve1' });
  for (const user of ['x/../../tmp/p', 'x/../../../../escaped', '../../../../escaped@pam']) {
    const err = t.throws(() => tasks.run({ type: 'qmstart', id: '100', user }, async () => 1), { instanceOf: InvalidArgumentError });
    t.is(err.argument, 'user');
  }
  // Nothing anywhere under the data dir: no log, no marker, no stray file where the path led.
  t.deepEqual(fs.readdirSync(dir, { recursive: true }), []);
});

test('task log paths refuse UPIDs that could leave the task directory (defence in depth)', async (t) => {
  const dir = dataDir(t);
  const tasks = new TaskManager({ dataDir: dir, node: 'pve1' });
  // Decodable by Proxmox's upid_decode, which allows '/' in type, id and user.
  const upid = 'UPID:pve1:00000001:00000001:00000001:qmstart:100:x/../../../../escaped:';
  for (const call of [() => tasks.get(upid), () => tasks.readLog(upid)]) {
    const err = await t.throwsAsync(call(), { instanceOf: InvalidArgumentError });
    t.is(err?.argument, 'upid');
  }
  t.false(fs.existsSync(join(dir, 'escaped:')));
});

// QmpClient against a scripted unix-socket server: the edge cases a real QEMU will not
// produce on demand. Replies and events come from qmpRecordings.ts (recorded from QEMU 7.2)
// wherever QEMU has a real answer. The real-QEMU counterpart is QmpClientQemu.test.ts.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AbortedError, DisposedError, ErrorCodes, NotFoundError, ProtocolError, TimeoutError, type UnavailableError } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { QmpClient, connectWithRetry, type QmpEvent, type QmpErrorData } from '../../src/qmp/index.js';
import { ScriptedQmpServer, type ScriptedQmpServerOptions } from '../support/ScriptedQmpServer.js';
import { recorded } from '../support/qmpRecordings.js';

async function setup(
  t: ExecutionContext,
  options: Omit<ScriptedQmpServerOptions, 'dir'> = {},
): Promise<{ server: ScriptedQmpServer; client: QmpClient }> {
  const dir = await makeTempDir(t, 'corral-qmp-');
  const server = await ScriptedQmpServer.start({ dir, ...options });
  const client = await QmpClient.connect(server.path, { timeoutMs: 5000 });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

test('connect reads the greeting and negotiates capabilities first', async (t) => {
  const { server, client } = await setup(t);
  t.deepEqual(client.greeting.QMP.version.qemu, { major: 7, minor: 2, micro: 22 });
  t.deepEqual(client.greeting.QMP.capabilities, ['oob']);
  t.deepEqual(server.requests.map((r) => r.execute), ['qmp_capabilities']);
  t.is(server.requests[0]!.arguments, undefined, 'no capability (oob) is enabled');
});

test('execute resolves with the return value, typed for known commands', async (t) => {
  const { client } = await setup(t, {
    handlers: { 'query-status': (req, s) => s.replyRecorded(req, recorded('"status": "running"', '"singlestep"')) },
  });
  const status = await client.execute('query-status');
  t.deepEqual(status, { status: 'running', singlestep: false, running: true });
});

test('events arriving between and before replies are emitted in order and do not disturb replies', async (t) => {
  const { client } = await setup(t, {
    handlers: {
      'snapshot-save': (req, s) => {
        // As recorded: JOB_STATUS_CHANGE, STOP and RESUME come before the reply.
        s.event(recorded('"created"', 'snap1'));
        s.event(recorded('"running"', 'snap1'));
        s.event(recorded('"event": "STOP"'));
        s.event(recorded('"event": "RESUME"'));
        s.replyRecorded(req, recorded('"return": {}', '"a6"'));
        s.event(recorded('"waiting"', 'snap1'));
      },
    },
  });
  const seen: QmpEvent[] = [];
  client.on('event', (e) => seen.push(e));
  const resumed = client.waitForEvent('RESUME', { timeoutMs: 2000 });
  const waiting = client.waitForEvent('JOB_STATUS_CHANGE', { predicate: (e) => e.data.status === 'waiting', timeoutMs: 2000 });
  t.deepEqual(await client.execute('snapshot-save', { 'job-id': 'snap1', tag: 's1', vmstate: 'disk0', devices: ['disk0'] }), {});
  const resume = await resumed;
  t.is(resume.event, 'RESUME');
  t.deepEqual(resume.data, {}, 'an event without data gets {}');
  t.deepEqual(resume.timestamp, { seconds: 1795626667, microseconds: 587431 });
  t.is((await waiting).data.id, 'snap1');
  t.deepEqual(
    seen.map((e) => e.event),
    ['JOB_STATUS_CHANGE', 'JOB_STATUS_CHANGE', 'STOP', 'RESUME', 'JOB_STATUS_CHANGE'],
  );
});

test('replies are matched by id, not by order', async (t) => {
  const { server, client } = await setup(t, {
    handlers: { 'query-version': () => undefined, 'query-status': () => undefined },
  });
  const first = server.nextRequest('query-version');
  const second = server.nextRequest('query-status');
  const version = client.execute('query-version');
  const status = client.execute('query-status');
  const [a, b] = await Promise.all([first, second]);
  b.session.reply(b.request, { status: 'paused', running: false });
  a.session.reply(a.request, { qemu: { major: 7, minor: 2, micro: 22 }, package: 'x' });
  t.deepEqual(await status, { status: 'paused', running: false });
  t.is((await version).qemu.minor, 2);
  t.not(a.request.id, b.request.id);
});

test('a reply without id settles the oldest pending command', async (t) => {
  const { server, client } = await setup(t, { handlers: { 'query-status': () => undefined } });
  const req = server.nextRequest('query-status');
  const pending = client.execute('query-status');
  const { session } = await req;
  session.sendLine('{"return": {"status": "running", "running": true}}');
  t.deepEqual(await pending, { status: 'running', running: true });
});

test('an error reply rejects with ProtocolError carrying class and desc', async (t) => {
  const { client } = await setup(t, {
    handlers: { device_del: (req, s) => s.replyRecorded(req, recorded('DeviceNotFound')) },
  });
  const error = await t.throwsAsync(client.execute('device_del', { id: 'nope' }), { instanceOf: ProtocolError });
  t.is(error.code, ErrorCodes.protocol);
  t.is(error.peer, 'qmp');
  t.deepEqual(error.data as QmpErrorData, { command: 'device_del', class: 'DeviceNotFound', desc: "Device 'nope' not found" });
  t.regex(error.message, /device_del.*Device 'nope' not found \(DeviceNotFound\)/);
});

test('an unknown command rejects with the CommandNotFound class and the client keeps working', async (t) => {
  const { client } = await setup(t, { handlers: { 'query-status': (req, s) => s.reply(req, { status: 'running', running: true }) } });
  const error = await t.throwsAsync(client.execute('nosuchcmd'), { instanceOf: ProtocolError });
  t.is((error.data as QmpErrorData).class, 'CommandNotFound');
  t.is((await client.execute('query-status')).status, 'running');
});

test('deviceDel waits for the DEVICE_DELETED of the device, not the virtio backend one', async (t) => {
  const { client } = await setup(t, {
    handlers: {
      device_del: (req, s) => {
        s.replyRecorded(req, recorded('"return": {}', '"a3"'));
        // As recorded: backend first (no data.device), then the device itself ~50 ms later.
        s.event(recorded('DEVICE_DELETED', 'virtio-backend'));
        setTimeout(() => s.event(recorded('DEVICE_DELETED', '"device": "virtio5"')), 50);
      },
    },
  });
  const deleted: QmpEvent[] = [];
  client.on('event', (e) => e.event === 'DEVICE_DELETED' && deleted.push(e));
  const event = await client.deviceDel('virtio5', { timeoutMs: 2000 });
  t.is(event.data.device, 'virtio5');
  t.is(event.data.path, '/machine/peripheral/virtio5');
  t.is(deleted.length, 2, 'both events arrived; the first did not settle the wait');
});

test('deviceDel does not settle on the backend event alone', async (t) => {
  const { client } = await setup(t, {
    handlers: {
      device_del: (req, s) => {
        s.reply(req, {});
        s.event(recorded('DEVICE_DELETED', 'virtio-backend'));
      },
    },
  });
  await t.throwsAsync(client.deviceDel('virtio5', { timeoutMs: 300 }), { instanceOf: TimeoutError });
});

test('deviceDel also works when the events come before the reply, and rejects with the device_del error', async (t) => {
  const { client, server } = await setup(t, {
    handlers: {
      device_del: (req, s) => {
        if (req.arguments?.id === 'nope') return s.replyRecorded(req, recorded('DeviceNotFound'));
        s.event('DEVICE_DELETED', { device: req.arguments?.id, path: `/machine/peripheral/${String(req.arguments?.id)}` });
        s.reply(req, {});
      },
    },
  });
  t.is((await client.deviceDel('net0', { timeoutMs: 2000 })).data.device, 'net0');
  const error = await t.throwsAsync(client.deviceDel('nope', { timeoutMs: 2000 }), { instanceOf: ProtocolError });
  t.is((error.data as QmpErrorData).class, 'DeviceNotFound');
  t.is(server.requests.filter((r) => r.execute === 'device_del').length, 2);
});

test('a command without reply times out; its late reply is ignored; the next command works', async (t) => {
  const { server, client } = await setup(t, {
    handlers: { 'query-status': (req, s) => s.reply(req, { status: 'running', running: true }), stop: () => undefined },
  });
  const stopReq = server.nextRequest('stop');
  const error = await t.throwsAsync(client.execute('stop', undefined, { timeoutMs: 200 }), { instanceOf: TimeoutError });
  t.is(error.code, ErrorCodes.timeout);
  t.is(error.timeoutMs, 200);
  const { request, session } = await stopReq;
  session.reply(request, {}); // late
  t.is((await client.execute('query-status')).status, 'running');
});

test('the client default command timeout applies', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-');
  const server = await ScriptedQmpServer.start({ dir, handlers: { stop: () => undefined } });
  const client = await QmpClient.connect(server.path, { commandTimeoutMs: 150 });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  await t.throwsAsync(client.execute('stop'), { instanceOf: TimeoutError });
});

test('an abort signal rejects the command with AbortedError', async (t) => {
  const { client } = await setup(t, { handlers: { stop: () => undefined } });
  const ac = new AbortController();
  const pending = client.execute('stop', undefined, { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  await t.throwsAsync(pending, { instanceOf: AbortedError });
  await t.throwsAsync(client.execute('stop', undefined, { signal: AbortSignal.abort() }), { instanceOf: AbortedError });
});

test('connection loss rejects every pending command and event wait and emits close', async (t) => {
  const { server, client } = await setup(t, { handlers: { stop: () => undefined, cont: () => undefined } });
  const stopReq = server.nextRequest('stop');
  const p1 = client.execute('stop');
  const p2 = client.execute('cont');
  const ev = client.waitForEvent('SHUTDOWN');
  const closeEvent = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
  (await stopReq).session.drop();
  for (const p of [p1, p2, ev]) {
    const error = await t.throwsAsync(p, { instanceOf: ProtocolError });
    t.regex(error.message, /closed by the peer/);
  }
  const closeError = await closeEvent;
  t.true(closeError instanceof ProtocolError);
  t.true(client.closed);
  t.is(await client.waitForClose(), closeError);
  await t.throwsAsync(client.execute('query-status'), { instanceOf: ProtocolError });
});

test('close() rejects pending commands with DisposedError and is idempotent', async (t) => {
  const { server, client } = await setup(t, { handlers: { stop: () => undefined } });
  const stopReq = server.nextRequest('stop');
  const pending = client.execute('stop');
  const ev = client.waitForEvent('STOP');
  await stopReq;
  const closeEvent = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
  await client.close();
  await client.close();
  await t.throwsAsync(pending, { instanceOf: DisposedError });
  await t.throwsAsync(ev, { instanceOf: DisposedError });
  t.is(await closeEvent, undefined);
  await t.throwsAsync(client.execute('query-status'), { instanceOf: DisposedError });
});

test('waitForJob polls query-jobs until concluded, then dismisses', async (t) => {
  let polls = 0;
  const { server, client } = await setup(t, {
    handlers: {
      'query-jobs': (req, s) => {
        polls++;
        if (polls < 3) s.reply(req, [{ 'current-progress': 0, status: 'running', 'total-progress': 1, type: 'snapshot-save', id: 'snap1' }]);
        else s.replyRecorded(req, recorded('"return": [{', '"snap1"', 'concluded'));
      },
      'job-dismiss': (req, s) => s.replyRecorded(req, recorded('"return": {}', '"a8"')),
    },
  });
  const job = await client.waitForJob('snap1', { timeoutMs: 5000, pollIntervalMs: 20 });
  t.is(job.status, 'concluded');
  t.is(job.type, 'snapshot-save');
  t.is(polls, 3);
  t.deepEqual(server.requests.at(-1), { execute: 'job-dismiss', arguments: { id: 'snap1' }, id: server.requests.at(-1)!.id });
});

test('waitForJob wakes up on JOB_STATUS_CHANGE instead of waiting the poll interval', async (t) => {
  let concluded = false;
  const { client } = await setup(t, {
    handlers: {
      'query-jobs': (req, s) => {
        s.reply(req, [{ 'current-progress': 1, status: concluded ? 'concluded' : 'running', 'total-progress': 1, type: 'blockdev-create', id: 'j1' }]);
        if (!concluded) {
          concluded = true;
          setTimeout(() => s.event('JOB_STATUS_CHANGE', { status: 'concluded', id: 'j1' }), 30);
        }
      },
      'job-dismiss': (req, s) => s.reply(req, {}),
    },
  });
  // A poll interval (and timeout) longer than the test runner's own timeout: only the event can end the wait.
  await client.waitForJob('j1', { timeoutMs: 60 * 60_000, pollIntervalMs: 30 * 60_000 });
  t.true(concluded);
});

test('runJob rejects with the job error after dismissing the failed job', async (t) => {
  const { server, client } = await setup(t, {
    handlers: {
      'snapshot-save': (req, s) => s.replyRecorded(req, recorded('"return": {}', '"a9"')),
      'query-jobs': (req, s) => s.replyRecorded(req, recorded('"return": [{', '"snap2"', 'error')),
      'job-dismiss': (req, s) => s.reply(req, {}),
    },
  });
  const error = await t.throwsAsync(
    client.runJob('snapshot-save', { 'job-id': 'snap2', tag: 's2', vmstate: 'nosuch', devices: ['disk0'] }, { timeoutMs: 5000 }),
    { instanceOf: ProtocolError },
  );
  t.regex(error.message, /snap2.*snapshot-save.*vmstate block device 'nosuch' does not exist/);
  t.deepEqual(
    server.requests.map((r) => r.execute),
    ['qmp_capabilities', 'snapshot-save', 'query-jobs', 'job-dismiss'],
  );
});

test('runJob refuses arguments without job-id; waitForJob of an unknown job is NotFoundError', async (t) => {
  const { client } = await setup(t, { handlers: { 'query-jobs': (req, s) => s.reply(req, []) } });
  await t.throwsAsync(client.runJob('blockdev-create', { options: {} }), { code: ErrorCodes.invalidArgument });
  await t.throwsAsync(client.waitForJob('ghost', { timeoutMs: 1000 }), { instanceOf: NotFoundError });
});

test('waitForJob times out on a job that never concludes', async (t) => {
  const { client } = await setup(t, {
    handlers: { 'query-jobs': (req, s) => s.reply(req, [{ 'current-progress': 0, status: 'running', 'total-progress': 1, type: 'x', id: 'slow' }]) },
  });
  await t.throwsAsync(client.waitForJob('slow', { timeoutMs: 250, pollIntervalMs: 20 }), { instanceOf: TimeoutError });
});

test('a peer that is not QMP is refused and the socket closed', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-');
  const server = await ScriptedQmpServer.start({ dir, greeting: '{"hello": "world"}' });
  t.teardown(() => server.close());
  await t.throwsAsync(QmpClient.connect(server.path, { timeoutMs: 2000 }), { instanceOf: ProtocolError, message: /expected a QMP greeting/ });
  await server.sessions[0]!.closedByPeer();
  t.true(server.sessions[0]!.socket.destroyed || server.sessions[0]!.socket.readableEnded);
});

test('a peer that sends no greeting times out', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-');
  const server = await ScriptedQmpServer.start({ dir, greeting: null });
  t.teardown(() => server.close());
  await t.throwsAsync(QmpClient.connect(server.path, { timeoutMs: 200 }), { instanceOf: TimeoutError, message: /greeting/ });
});

test('invalid JSON from the peer closes the connection with ProtocolError', async (t) => {
  const { client } = await setup(t, { handlers: { stop: (_req, s) => s.sendLine('{"return": {') } });
  const error = await t.throwsAsync(client.execute('stop'), { instanceOf: ProtocolError });
  t.regex(error.message, /invalid JSON/);
  t.true(client.closed);
});

test('lines split across writes and \\r\\n endings are reassembled', async (t) => {
  const { client } = await setup(t, {
    handlers: {
      'query-status': (req, s) => {
        const line = Buffer.from(`${JSON.stringify({ return: { status: 'running', running: true }, id: req.id })}\r\n`);
        s.sendRaw(line.subarray(0, 7));
        setTimeout(() => s.sendRaw(line.subarray(7)), 20);
      },
    },
  });
  t.is((await client.execute('query-status')).status, 'running');
});

test('connectWithRetry waits for a socket that appears later', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-');
  const server = await ScriptedQmpServer.start({ dir, deferListen: true });
  t.teardown(() => server.close());
  t.false(existsSync(server.path), 'no socket when the client starts trying');
  let attempts = 0;
  // The socket appears once the client has failed three times.
  const client = await connectWithRetry(server.path, {
    timeoutMs: 60_000,
    intervalMs: 20,
    shouldRetry: () => {
      if (++attempts === 3) void server.listen();
      return true;
    },
  });
  t.teardown(() => client.close());
  t.true(attempts >= 3);
  t.is(client.greeting.QMP.version.qemu.major, 7);
});

test('connectWithRetry retries while the path refuses connections, then gives up with TimeoutError', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-');
  // A plain file where the socket should be: connect() fails with ECONNREFUSED, as it does
  // on a socket file whose QEMU is gone.
  const path = join(dir, 'not-a-socket');
  await writeFile(path, '');
  let attempts = 0;
  const error = await t.throwsAsync(connectWithRetry(path, { timeoutMs: 300, intervalMs: 20, shouldRetry: () => ++attempts > 0 }), { instanceOf: TimeoutError });
  t.is(error.timeoutMs, 300);
  t.true(attempts >= 2, `retried (${attempts} failed attempts)`);
  t.regex(error.message, /not-a-socket/);
  const cause = error.cause as UnavailableError;
  t.is(cause.code, ErrorCodes.unavailable);
  t.is((cause.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('connectWithRetry stops at once when shouldRetry says so', async (t) => {
  const dir = await makeTempDir(t, 'corral-qmp-');
  let asked = 0;
  await t.throwsAsync(connectWithRetry(join(dir, 'none.sock'), { timeoutMs: 60_000, shouldRetry: () => (asked++, false) }), {
    code: ErrorCodes.unavailable,
  });
  t.is(asked, 1, 'one attempt, no retry');
});

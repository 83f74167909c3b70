// QgaClient against a scripted socket playing qemu-ga (lines recorded from qemu-ga 7.2, see
// qmpRecordings.ts). The real agent is exercised in guestBoot.test.ts.
import test, { type ExecutionContext } from 'ava';
import { DisposedError, ErrorCodes, ProtocolError, TimeoutError } from '@corral/core';
import { makeTempDir } from '@corral/core/testing';
import { QgaClient, type QmpErrorData } from '../../src/qmp/index.js';
import { ScriptedQmpServer, type QmpHandler } from '../support/ScriptedQmpServer.js';
import { QGA_7_2 } from '../support/qmpRecordings.js';

/** The agent's answer to guest-sync-delimited: 0xFF, then the recorded reply with our id and nonce. */
const syncHandler: QmpHandler = (req, s) => {
  const recorded = JSON.parse(QGA_7_2.syncReply) as Record<string, unknown>;
  s.sendRaw(Uint8Array.of(0xff));
  s.sendLine(JSON.stringify({ ...recorded, return: req.arguments?.id, id: req.id }));
};

async function setup(t: ExecutionContext, handlers: Record<string, QmpHandler> = {}): Promise<{ server: ScriptedQmpServer; agent: QgaClient }> {
  const dir = await makeTempDir(t, 'corral-qga-');
  const server = await ScriptedQmpServer.start({
    dir,
    greeting: null,
    socketName: 'qga.sock',
    handlers: { 'guest-sync-delimited': syncHandler, ...handlers },
  });
  const agent = await QgaClient.connect(server.path, { timeoutMs: 5000 });
  t.teardown(async () => {
    await agent.close();
    await server.close();
  });
  return { server, agent };
}

test('connect sends 0xFF + guest-sync-delimited and skips the parse error and stray lines', async (t) => {
  const { server } = await setup(t, {
    'guest-sync-delimited': (req, s) => {
      // As recorded: the 0xFF byte provokes a parse error without id, then the real answer.
      s.sendLine(QGA_7_2.parseErrorAfterSyncByte);
      s.sendLine('{"return": 42, "id": "someone-elses"}');
      syncHandler(req, s);
    },
  });
  const session = server.sessions[0]!;
  t.is(session.received[0]![0], 0xff, 'the first byte sent is 0xFF');
  t.is(session.requests[0]!.execute, 'guest-sync-delimited');
  t.is(typeof session.requests[0]!.arguments?.id, 'number');
});

test('sync resends until the agent answers (the guest is still booting)', async (t) => {
  let calls = 0;
  const dir = await makeTempDir(t, 'corral-qga-');
  const server = await ScriptedQmpServer.start({
    dir,
    greeting: null,
    handlers: {
      'guest-sync-delimited': (req, s) => {
        calls++;
        if (calls >= 3) syncHandler(req, s);
      },
    },
  });
  t.teardown(() => server.close());
  const agent = await QgaClient.connect(server.path, { timeoutMs: 5000, syncRetryMs: 100 });
  t.teardown(() => agent.close());
  t.is(calls, 3);
});

test('connect times out when no agent answers, and closes the socket', async (t) => {
  const dir = await makeTempDir(t, 'corral-qga-');
  const server = await ScriptedQmpServer.start({ dir, greeting: null, handlers: { 'guest-sync-delimited': () => undefined } });
  t.teardown(() => server.close());
  await t.throwsAsync(QgaClient.connect(server.path, { timeoutMs: 300, syncRetryMs: 100 }), { instanceOf: TimeoutError });
  await server.sessions[0]!.closedByPeer();
  t.true(server.sessions[0]!.socket.destroyed || server.sessions[0]!.socket.readableEnded);
});

test('commands resolve with return values; errors reject with ProtocolError (peer qga)', async (t) => {
  const { agent } = await setup(t, {
    'guest-ping': (req, s) => s.replyRecorded(req, JSON.parse(QGA_7_2.pingReply) as Record<string, unknown>),
    'guest-exec-status': (req, s) => s.replyRecorded(req, JSON.parse(QGA_7_2.execStatusBadPid) as Record<string, unknown>),
    'guest-fsfreeze-status': (req, s) => s.reply(req, 'frozen'),
  });
  await agent.ping();
  t.is(await agent.fsFreezeStatus(), 'frozen');
  const error = await t.throwsAsync(agent.execStatus(99999), { instanceOf: ProtocolError });
  t.is(error.peer, 'qga');
  t.deepEqual(error.data as QmpErrorData, { command: 'guest-exec-status', class: 'GenericError', desc: "Invalid parameter 'pid'" });
});

test('run polls guest-exec-status and decodes base64 output', async (t) => {
  let polls = 0;
  const { server, agent } = await setup(t, {
    'guest-exec': (req, s) => s.reply(req, { pid: 131 }),
    'guest-exec-status': (req, s) => {
      polls++;
      if (polls < 2) s.reply(req, { exited: false });
      else s.reply(req, { exited: true, exitcode: 0, 'out-data': Buffer.from('hi\n').toString('base64') });
    },
  });
  const result = await agent.run({ path: '/bin/sh', args: ['-c', 'echo hi'], input: 'x' }, { timeoutMs: 5000, pollIntervalMs: 10 });
  t.deepEqual(result, { exitCode: 0, signal: undefined, stdout: 'hi\n', stderr: '', truncated: false });
  const exec = server.requests.find((r) => r.execute === 'guest-exec')!;
  t.deepEqual(exec.arguments, { path: '/bin/sh', 'capture-output': true, arg: ['-c', 'echo hi'], 'input-data': 'eA==' });
});

test('shutdown resolves without an answer and rejects on an error answer', async (t) => {
  let refuse = false;
  const { agent } = await setup(t, {
    'guest-shutdown': (req, s) => {
      if (refuse) s.fail(req, 'GenericError', 'shutdown refused');
    },
  });
  await agent.shutdown({ errorGraceMs: 100 });
  refuse = true;
  await t.throwsAsync(agent.shutdown({ errorGraceMs: 1000 }), { instanceOf: ProtocolError, message: /shutdown refused/ });
});

test('shutdown resolves when the connection drops (QEMU exited with the guest)', async (t) => {
  const { agent } = await setup(t, { 'guest-shutdown': (_req, s) => void setTimeout(() => s.drop(), 20) });
  await agent.shutdown({ errorGraceMs: 2000 });
  t.true(agent.closed);
});

test('connection loss rejects pending commands; after close() calls reject with DisposedError', async (t) => {
  const { server, agent } = await setup(t, { 'guest-fsfreeze-freeze': () => undefined });
  const next = server.nextRequest('guest-fsfreeze-freeze');
  const pending = agent.fsFreeze();
  (await next).session.drop();
  await t.throwsAsync(pending, { instanceOf: ProtocolError, message: /closed by the peer/ });

  const { agent: second } = await setup(t);
  await second.close();
  await t.throwsAsync(second.ping(), { instanceOf: DisposedError });
  await t.throwsAsync(second.execute(''), { code: ErrorCodes.invalidArgument });
});

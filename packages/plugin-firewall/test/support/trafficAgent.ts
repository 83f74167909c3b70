/**
 * A traffic agent run inside a test namespace (`ip netns exec <ns> node trafficAgent.js`):
 * serves TCP and UDP echo on the ports it is told, and probes peers. One JSON command a line
 * on stdin, one JSON answer a line on stdout:
 * - `{"id":1,"op":"listen","tcp":[8080],"udp":[5353]}` → `{"id":1,"ok":true}`
 * - `{"id":2,"op":"tcp","host":"10.9.0.101","port":8080,"waitMs":800}` →
 *   `{"id":2,"result":"open"|"refused"|"silent"}` (silent: no answer within waitMs: dropped)
 * - `{"id":3,"op":"udp",...}` → `"open"` (echo came back), `"refused"` (ICMP unreachable), `"silent"`
 * - `{"id":4,"op":"tcpHold",...}` opens a connection and keeps it; `{"op":"tcpSend","conn":N}`
 *   sends a line on it and waits for the echo (stateful return traffic after a rule change).
 */
import { createServer, Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

type Result = 'open' | 'refused' | 'silent';

const held = new Map<number, Socket>();

function tcpProbe(host: string, port: number, waitMs: number): Promise<Result> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (r: Result): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('silent'), waitMs);
    s.once('connect', () => s.write('ping\n'));
    s.once('data', () => done('open'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EHOSTUNREACH' ? 'refused' : 'silent'));
    s.connect(port, host);
  });
}

function udpProbe(host: string, port: number, waitMs: number): Promise<Result> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    let timer: NodeJS.Timeout | undefined;
    const done = (r: Result): void => {
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    s.on('message', () => done('open'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'silent'));
    s.connect(port, host, () => {
      timer = setTimeout(() => done('silent'), waitMs);
      s.send('ping');
    });
  });
}

function tcpHold(host: string, port: number, waitMs: number, conn: number): Promise<Result> {
  return new Promise((resolve) => {
    const s = new Socket();
    const timer = setTimeout(() => resolve('silent'), waitMs);
    s.once('connect', () => {
      clearTimeout(timer);
      held.set(conn, s);
      resolve('open');
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve('refused');
    });
    s.connect(port, host);
  });
}

function tcpSend(conn: number, waitMs: number): Promise<Result> {
  const s = held.get(conn);
  if (!s) return Promise.resolve('refused');
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('silent'), waitMs);
    s.once('data', () => {
      clearTimeout(timer);
      resolve('open');
    });
    s.write('again\n');
  });
}

interface Command {
  id: number;
  op: 'listen' | 'tcp' | 'udp' | 'tcpHold' | 'tcpSend';
  tcp?: number[];
  udp?: number[];
  host?: string;
  port?: number;
  waitMs?: number;
  conn?: number;
}

async function handle(cmd: Command): Promise<Record<string, unknown>> {
  switch (cmd.op) {
    case 'listen': {
      for (const port of cmd.tcp ?? []) {
        await new Promise<void>((resolve) => createServer((c) => c.on('data', (d) => c.write(d)).on('error', () => undefined)).listen(port, resolve));
      }
      for (const port of cmd.udp ?? []) {
        const s = createSocket('udp4');
        s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
        await new Promise<void>((resolve) => s.bind(port, resolve));
      }
      return { ok: true };
    }
    case 'tcp':
      return { result: await tcpProbe(cmd.host!, cmd.port!, cmd.waitMs!) };
    case 'udp':
      return { result: await udpProbe(cmd.host!, cmd.port!, cmd.waitMs!) };
    case 'tcpHold':
      return { result: await tcpHold(cmd.host!, cmd.port!, cmd.waitMs!, cmd.conn!) };
    case 'tcpSend':
      return { result: await tcpSend(cmd.conn!, cmd.waitMs!) };
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  handle(cmd).then(
    (answer) => process.stdout.write(`${JSON.stringify({ id: cmd.id, ...answer })}\n`),
    (err: Error) => process.stdout.write(`${JSON.stringify({ id: cmd.id, error: err.message })}\n`)
  );
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

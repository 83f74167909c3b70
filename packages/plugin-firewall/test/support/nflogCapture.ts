/**
 * A receiver on an nflog group: `tcpdump -i nflog:<group> -w -` in a network namespace, its
 * pcap stream decoded into the log messages (prefix and logged packet) the kernel sent.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One message the kernel sent to the group. */
export interface NflogMessage {
  /** The log statement's prefix (`NFULA_PREFIX`). */
  readonly prefix: string;
  /** The logged packet from its network header on (`NFULA_PAYLOAD`). */
  readonly payload: Buffer;
}

/** A running capture. */
export interface NflogCapture {
  /**
   * Resolves with the first message (already received or coming) whose prefix is `prefix` and
   * that `match` accepts (default: any); rejects when tcpdump ends first.
   */
  next(prefix: string, match?: (m: NflogMessage) => boolean): Promise<NflogMessage>;
  /** Stops tcpdump (by its pid) and waits for it to exit. */
  stop(): Promise<void>;
}

const PCAP_HEADER = 24;
const RECORD_HEADER = 16;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;

/** The TLVs of one NFLOG record (4-byte nfgenmsg header, then host-endian length/type TLVs padded to 4). */
function decodeRecord(data: Buffer): NflogMessage {
  let prefix = '';
  let payload = Buffer.alloc(0);
  for (let off = 4; off + 4 <= data.length; ) {
    const len = data.readUInt16LE(off);
    const type = data.readUInt16LE(off + 2) & 0x7fff;
    if (len < 4) break;
    const value = data.subarray(off + 4, off + len);
    if (type === NFULA_PREFIX) prefix = value.toString('latin1').replace(/\0.*$/s, '');
    if (type === NFULA_PAYLOAD) payload = Buffer.from(value);
    off += (len + 3) & ~3;
  }
  return { prefix, payload };
}

/** Starts tcpdump on `nflog:<group>` in `netns` and resolves once it listens. */
export async function startNflogCapture(netns: string, group: number): Promise<NflogCapture> {
  const proc = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-i', `nflog:${group}`, '-U', '-s', '0', '-w', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: NflogMessage[] = [];
  const waiters: Array<{ prefix: string; match: (m: NflogMessage) => boolean; resolve: (m: NflogMessage) => void; reject: (e: Error) => void }> = [];
  let ended: Error | undefined;
  let stderr = '';
  let buffered = Buffer.alloc(0);
  let headerSeen = false;
  const deliver = (): void => {
    for (const w of [...waiters]) {
      const m = messages.find((msg) => msg.prefix === w.prefix && w.match(msg));
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      } else if (ended) {
        waiters.splice(waiters.indexOf(w), 1);
        w.reject(ended);
      }
    }
  };
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!headerSeen) {
      if (buffered.length < PCAP_HEADER) return;
      buffered = buffered.subarray(PCAP_HEADER);
      headerSeen = true;
    }
    while (buffered.length >= RECORD_HEADER) {
      const incl = buffered.readUInt32LE(8);
      if (buffered.length < RECORD_HEADER + incl) break;
      messages.push(decodeRecord(buffered.subarray(RECORD_HEADER, RECORD_HEADER + incl)));
      buffered = buffered.subarray(RECORD_HEADER + incl);
    }
    deliver();
  });
  const exited = new Promise<void>((resolve) =>
    proc.on('close', (code, signal) => {
      ended = new Error(`tcpdump on nflog:${group} ended (${signal ?? code}): ${stderr.trim()}`);
      deliver();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      stderr += `${line}\n`;
      if (line.includes('listening on')) resolve();
    });
    void exited.then(() => reject(ended));
  });
  return {
    next: (prefix, match = () => true) =>
      new Promise((resolve, reject) => {
        waiters.push({ prefix, match, resolve, reject });
        deliver();
      }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGTERM');
      await exited;
    },
  };
}

/**
 * A test network: a "host" namespace with a bridge `vmbr0` (10.x.0.1/24) and br_netfilter off
 * (the firewall backend turns it on),
 * and one namespace per guest whose veth end in the host namespace is named like a tap
 * (`tap<vmid>i0`). Each guest namespace runs a {@link trafficAgent} for TCP/UDP; ICMP uses
 * busybox ping. Names are unique per lab; `dispose` removes everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { runTool, runToolOk, uniqueName } from '@corral/core/testing';

/** What a probe saw: an answer, a refusal (RST / ICMP unreachable) or nothing (dropped). */
export type ProbeResult = 'open' | 'refused' | 'silent';

/**
 * How long a probe that expects silence waits before calling the flow dropped, in
 * milliseconds: short, since every such probe pays it in full.
 */
export const SILENCE_MS = 1500;

/**
 * How long a probe that expects an answer (`open` or `refused`) waits for it, in milliseconds.
 * Long, so that a loaded machine (a lost SYN, a slow agent) is not taken for a drop; the probe
 * returns as soon as the answer comes.
 */
export const ANSWER_MS = 15_000;

/** The wait of a probe expecting `expect`: {@link SILENCE_MS} for silence, else {@link ANSWER_MS}. */
export function probeWaitMs(expect: ProbeResult): number {
  return expect === 'silent' ? SILENCE_MS : ANSWER_MS;
}

/** A guest of the lab. */
export interface LabGuest {
  readonly vmid: number;
  readonly ip: string;
  /** IPv6 address (fd00:<net>::<n>/64, without duplicate address detection). */
  readonly ip6: string;
  readonly netns: string;
  readonly port: string;
}

class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  readonly ready: Promise<void>;
  constructor(readonly proc: ChildProcess) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.ready) return markReady();
      this.waiting.get(msg.id as number)?.(msg);
      this.waiting.delete(msg.id as number);
    });
  }
  call(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    });
  }
}

/**
 * A running lab. Every probe takes the result the test expects (`expect`), which only sets how
 * long it waits ({@link probeWaitMs}); the result it returns is what the network did.
 */
export interface TrafficLab {
  readonly hostNetns: string;
  readonly hostIp: string;
  readonly guests: ReadonlyMap<number, LabGuest>;
  /** TCP probe from guest `from` to `to`'s address, port `port` (vmid 0: the host). */
  tcp(from: number, to: number, port: number, expect: ProbeResult): Promise<ProbeResult>;
  /** TCP probe over IPv6. */
  tcp6(from: number, to: number, port: number, expect: ProbeResult): Promise<ProbeResult>;
  /** Forgets every namespace's neighbour entries (the next IPv6 flow needs neighbor discovery). */
  flushNeighbours(): Promise<void>;
  /** UDP probe (echo expected). */
  udp(from: number, to: number, port: number, expect: ProbeResult): Promise<ProbeResult>;
  /** One ICMP echo; 'open' when answered, else 'silent'. */
  ping(from: number, to: number, expect: ProbeResult): Promise<ProbeResult>;
  /** Opens and keeps TCP connection `conn` from `from` to `to`:`port`. */
  tcpHold(from: number, to: number, port: number, conn: number, expect: ProbeResult): Promise<ProbeResult>;
  /** Sends on held connection `conn` of guest `from` and waits for the echo. */
  tcpSend(from: number, conn: number, expect: ProbeResult): Promise<ProbeResult>;
  dispose(): Promise<void>;
}

const agentScript = fileURLToPath(new URL('./trafficAgent.js', import.meta.url));

async function ip(...args: string[]): Promise<void> {
  await runToolOk(['ip', ...args], { timeoutMs: 20_000 });
}

/**
 * Builds the lab: guests get 10.<net>.0.<index+10>/24; each agent listens on `tcpPorts` and
 * `udpPorts`. Throws (after cleaning up) when a step fails.
 */
export async function createTrafficLab(vmids: readonly number[], listen: { tcp: number[]; udp: number[] }, options: { firewallBridges?: boolean } = {}): Promise<TrafficLab> {
  const tag = uniqueName('fw').slice(2, 8);
  const net = 100 + Math.floor(Math.random() * 100);
  const hostNetns = `fw${tag}h`;
  const namespaces = [hostNetns];
  const agents = new Map<number, Agent>();
  const guests = new Map<number, LabGuest>();
  const dispose = async (): Promise<void> => {
    for (const a of agents.values()) a.proc.kill('SIGKILL');
    for (const ns of namespaces) await runTool(['ip', 'netns', 'del', ns], { timeoutMs: 20_000 });
  };
  try {
    await ip('netns', 'add', hostNetns);
    await ip('-n', hostNetns, 'link', 'set', 'lo', 'up');
    await ip('-n', hostNetns, 'link', 'add', 'vmbr0', 'type', 'bridge');
    await ip('-n', hostNetns, 'addr', 'add', `10.${net}.0.1/24`, 'dev', 'vmbr0');
    await ip('-n', hostNetns, 'link', 'set', 'vmbr0', 'up');
    // br_netfilter starts off here: the backend's apply must turn it on.
    await runToolOk(['ip', 'netns', 'exec', hostNetns, 'sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0'], {
      timeoutMs: 20_000,
    });
    await ip('-n', hostNetns, 'addr', 'add', `fd00:${net}::1/64`, 'dev', 'vmbr0', 'nodad');
    guests.set(0, { vmid: 0, ip: `10.${net}.0.1`, ip6: `fd00:${net}::1`, netns: hostNetns, port: 'vmbr0' });
    const hostAgent = new Agent(spawn('ip', ['netns', 'exec', hostNetns, process.execPath, agentScript], { stdio: ['pipe', 'pipe', 'inherit'] }));
    agents.set(0, hostAgent);
    await hostAgent.ready;
    await hostAgent.call({ op: 'listen', ...listen });
    for (const [i, vmid] of vmids.entries()) {
      const ns = `fw${tag}g${vmid}`;
      const port = `tap${vmid}i0`;
      const addr = `10.${net}.0.${i + 10}`;
      await ip('netns', 'add', ns);
      namespaces.push(ns);
      await ip('-n', hostNetns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      if (options.firewallBridges) {
        const fwbr = `fwbr${vmid}i0`;
        await ip('-n', hostNetns, 'link', 'add', fwbr, 'type', 'bridge');
        await ip('-n', hostNetns, 'link', 'add', `fwln${vmid}i0`, 'type', 'veth', 'peer', 'name', `fwpr${vmid}p0`);
        await ip('-n', hostNetns, 'link', 'set', `fwpr${vmid}p0`, 'master', 'vmbr0');
        await ip('-n', hostNetns, 'link', 'set', `fwln${vmid}i0`, 'master', fwbr);
        await ip('-n', hostNetns, 'link', 'set', port, 'master', fwbr);
        for (const dev of [fwbr, `fwln${vmid}i0`, `fwpr${vmid}p0`]) await ip('-n', hostNetns, 'link', 'set', dev, 'up');
      } else {
        await ip('-n', hostNetns, 'link', 'set', port, 'master', 'vmbr0');
      }
      await ip('-n', hostNetns, 'link', 'set', port, 'up');
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'addr', 'add', `fd00:${net}::${i + 10}/64`, 'dev', 'eth0', 'nodad');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      guests.set(vmid, { vmid, ip: addr, ip6: `fd00:${net}::${i + 10}`, netns: ns, port });
      const agent = new Agent(spawn('ip', ['netns', 'exec', ns, process.execPath, agentScript], { stdio: ['pipe', 'pipe', 'inherit'] }));
      agents.set(vmid, agent);
      await agent.ready;
      await agent.call({ op: 'listen', ...listen });
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  const guest = (vmid: number): LabGuest => guests.get(vmid)!;
  const probe = async (op: string, from: number, to: number, port: number, expect: ProbeResult, extra: Record<string, unknown> = {}): Promise<ProbeResult> =>
    (await agents.get(from)!.call({ op, host: guest(to).ip, port, waitMs: probeWaitMs(expect), ...extra })).result as ProbeResult;
  const probe6 = async (from: number, to: number, port: number, expect: ProbeResult): Promise<ProbeResult> =>
    (await agents.get(from)!.call({ op: 'tcp', host: guest(to).ip6, port, waitMs: probeWaitMs(expect) })).result as ProbeResult;
  return {
    hostNetns,
    hostIp: `10.${net}.0.1`,
    guests,
    tcp: (from, to, port, expect) => probe('tcp', from, to, port, expect),
    tcp6: probe6,
    async flushNeighbours() {
      for (const g of guests.values()) await runToolOk(['ip', '-n', g.netns, 'neigh', 'flush', 'all'], { timeoutMs: 20_000 });
    },
    udp: (from, to, port, expect) => probe('udp', from, to, port, expect),
    tcpHold: (from, to, port, conn, expect) => probe('tcpHold', from, to, port, expect, { conn }),
    tcpSend: async (from, conn, expect) => (await agents.get(from)!.call({ op: 'tcpSend', conn, waitMs: probeWaitMs(expect) })).result as ProbeResult,
    async ping(from, to, expect) {
      // busybox ping -W: seconds to wait for the echo reply (it exits as soon as one comes).
      const waitS = expect === 'silent' ? 2 : Math.ceil(ANSWER_MS / 1000);
      const r = await runTool(['ip', 'netns', 'exec', guest(from).netns, 'busybox', 'ping', '-c', '1', '-W', String(waitS), guest(to).ip], { timeoutMs: 20_000 + waitS * 1000 });
      return r.exitCode === 0 ? 'open' : 'silent';
    },
    dispose,
  };
}

import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One etcd member of an {@link EtcdTestCluster}. */
export interface EtcdTestMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | undefined;
}

/** Free TCP ports on 127.0.0.1, held open together so they are distinct, then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/**
 * A real etcd cluster of `size` members on loopback for one test: free ports, private data
 * dirs under a temp dir, each member a child process stopped by pid. Given an ava context,
 * every member is killed and the temp dir removed at teardown; members also die with the
 * test process (parent-death signal).
 */
export class EtcdTestCluster {
  private constructor(readonly root: string, readonly members: EtcdTestMember[], private readonly token: string) {}

  /** Starts the cluster and waits until every member reports healthy. */
  static async start(t: Pick<ExecutionContext, 'teardown'> | undefined, size = 3): Promise<EtcdTestCluster> {
    const root = await mkdtemp(join(tmpdir(), 'corral-etcd-'));
    const ports = await freePorts(size * 2);
    const members: EtcdTestMember[] = Array.from({ length: size }, (_, i) => ({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
      peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: join(root, `m${i}`),
      logFile: join(root, `m${i}.log`),
      process: undefined,
    }));
    const cluster = new EtcdTestCluster(root, members, `corral-test-${ports[0]}`);
    t?.teardown(() => cluster.destroy());
    for (let i = 0; i < size; i++) await cluster.startMember(i);
    await cluster.waitHealthy();
    return cluster;
  }

  /** Client URLs of all members. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Starts member `i` (again): a restarted member keeps its data dir and rejoins. */
  async startMember(i: number): Promise<void> {
    const m = this.members[i]!;
    await mkdir(m.dataDir, { recursive: true, mode: 0o700 });
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const log = openSync(m.logFile, 'a');
    // setpriv (util-linux) execs etcd with a parent-death signal: if the test process dies
    // without its teardown (killed on a timeout), its etcd members die with it.
    m.process = spawn(
      'setpriv',
      [
        '--pdeathsig', 'KILL', '--',
        'etcd',
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', this.token,
        '--initial-cluster-state', 'new',
        '--heartbeat-interval', '100',
        '--election-timeout', '1000',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
  }

  /** SIGKILLs member `i` by pid and waits until it has exited. */
  async kill(i: number): Promise<void> {
    const proc = this.members[i]!.process;
    this.members[i]!.process = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    process.kill(proc.pid!, 'SIGKILL');
    await exited;
  }

  /** Freezes member `i` (SIGSTOP): its sockets stay open but it answers nothing. */
  freeze(i: number): void {
    process.kill(this.members[i]!.process!.pid!, 'SIGSTOP');
  }

  /** Resumes a frozen member (SIGCONT). */
  thaw(i: number): void {
    process.kill(this.members[i]!.process!.pid!, 'SIGCONT');
  }

  /** Index of the current leader, asked from a running member's status endpoint. */
  async leaderIndex(): Promise<number> {
    for (;;) {
      for (const m of this.members) {
        if (!m.process) continue;
        try {
          const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
          const body = (await res.json()) as { leader?: string; header?: { member_id?: string } };
          if (body.leader && body.leader !== '0') {
            const members = (await (await fetch(`${m.clientUrl}/v3/cluster/member/list`, { method: 'POST', body: '{}' })).json()) as { members: { ID: string; name: string }[] };
            const name = members.members.find((x) => x.ID === body.leader)?.name;
            const idx = this.members.findIndex((x) => x.name === name);
            if (idx >= 0) return idx;
          }
        } catch {
          // not answering: ask the next one
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until every running member answers `/health` with `true` (a leader and quorum). */
  async waitHealthy(): Promise<void> {
    for (const m of this.members) {
      if (!m.process) continue;
      for (;;) {
        if (m.process.exitCode !== null) throw new Error(`etcd member ${m.name} exited: ${this.log(m.name)}`);
        try {
          const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
          const body = (await res.json()) as { health?: string };
          if (body.health === 'true') break;
        } catch {
          // not up yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** The log of member `name` (for failure messages). */
  log(name: string): string {
    try {
      return readFileSync(join(this.root, `${name}.log`), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  /** Kills every member (thawing frozen ones) and removes the data dirs. */
  async destroy(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) {
      const p = this.members[i]!.process;
      if (p?.pid !== undefined) {
        try {
          process.kill(p.pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
      await this.kill(i);
    }
    await rm(this.root, { recursive: true, force: true });
  }
}

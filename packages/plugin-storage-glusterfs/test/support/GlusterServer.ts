/**
 * A private GlusterFS server for tests. glusterd refuses loopback addresses for bricks, so it
 * runs in a network namespace of its own whose `lo` carries a documentation address
 * (198.51.100.N/32, N random per run); a veth pair and a host route to that address let the
 * host reach it like a remote server (the FUSE client, QEMU's gluster driver and the TCP probe
 * run on the host, unchanged). glusterd has its own working, run and log directories and CLI
 * socket under the caller's private directory; two one-brick volumes (`force`: the bricks are
 * plain directories) are created and started. `stop` unmounts what is still mounted from the
 * server, kills the brick processes and glusterd by pid, removes their sockets and the FUSE
 * client logs of mount points under the private directory, and deletes the namespace (with the
 * veth pair and the route).
 *
 * @packageDocumentation
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool, runToolOk } from '@corral/core/testing';
import { readProcMounts } from '@corral/core';
import { glusterdAnswers } from '../../src/index.js';

/** Programs the server and its clients need (Debian: glusterfs-server glusterfs-client qemu-utils qemu-block-extra iproute2). */
export const GLUSTER_TEST_PROGRAMS = ['glusterd', 'gluster', 'mount.glusterfs', 'ip', 'nsenter', 'qemu-img'] as const;

/** A running server. */
export interface GlusterServer {
  /** The server's address (198.51.100.N). */
  readonly address: string;
  /** Two started volumes (`gv<hex>a`, `gv<hex>b`). */
  readonly volumes: readonly [string, string];
  /** The network namespace glusterd runs in (`/run/netns/<name>`). */
  readonly netns: string;
  /** The CLI socket of this glusterd (`gluster --glusterd-sock=<socket>`). */
  readonly cliSocket: string;
  /** Private directory of the server; tests may put mount points under it. */
  readonly dir: string;
  /** Runs `gluster --glusterd-sock=<socket> --log-file=<dir>/log/cli.log --mode=script <args>` against this glusterd. */
  gluster(args: readonly string[]): Promise<string>;
  /** Kills glusterd and the brick processes (the server is gone; the namespace stays until {@link stop}). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Where `mount.glusterfs` has the FUSE client log. */
const CLIENT_LOG_DIR = '/var/log/glusterfs';

function glusterdVolfile(dir: string, address: string, cliSocket: string): string {
  return `volume management
    type mgmt/glusterd
    option working-directory ${join(dir, 'wd')}
    option run-directory ${join(dir, 'run')}
    option logging-directory ${join(dir, 'log')}
    option glusterd-sockfile ${cliSocket}
    option transport-type socket
    option transport.socket.bind-address ${address}
    option transport.socket.listen-port 24007
    option ping-timeout 0
    option event-threads 1
end-volume
`;
}

async function waitFor(what: string, probe: () => Promise<boolean>, attempts = 150, delayMs = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`${what} did not happen`);
}

/** Sends SIGTERM to `pid` and waits until it is gone (SIGKILL after 20 s). */
async function killPid(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 200));
  if (alive()) process.kill(pid, 'SIGKILL');
  await waitFor(`exit of pid ${pid}`, async () => !alive());
}

/** The brick processes' pids (from the pid files glusterd keeps under its run directory). */
async function brickPids(dir: string): Promise<number[]> {
  const vols = join(dir, 'run', 'vols');
  const pids: number[] = [];
  for (const vol of await readdir(vols).catch(() => [] as string[])) {
    for (const f of await readdir(join(vols, vol)).catch(() => [] as string[])) {
      if (!f.endsWith('.pid')) continue;
      const pid = Number((await readFile(join(vols, vol, f), 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 0) pids.push(pid);
    }
  }
  return pids;
}

/** The `-S <socket>` a brick process was started with (glusterd puts it in /var/run/gluster). */
async function brickSocket(pid: number): Promise<string | undefined> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  const i = argv.indexOf('-S');
  return i >= 0 ? argv[i + 1] : undefined;
}

/** A random address of TEST-NET-2 (198.51.100.2 to .251) for a server. */
export function randomServerAddress(): string {
  return `198.51.100.${2 + (randomBytes(1)[0]! % 250)}`;
}

/**
 * Starts glusterd on `address` (see {@link randomServerAddress}; no other server may use it) in
 * a new namespace with two started one-brick volumes; `dir` is private to the caller.
 */
export async function startGlusterServer(dir: string, address: string): Promise<GlusterServer> {
  const hex = randomBytes(3).toString('hex');
  const netns = `corral-gl-${hex}`;
  const hostVeth = `glh${hex}`;
  const nsVeth = `gln${hex}`;
  const cliSocket = join(dir, 'glusterd.socket');
  const volumes = [`gv${hex}a`, `gv${hex}b`] as const;
  for (const d of ['wd', 'run', 'log', 'bricks']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'glusterd.vol'), glusterdVolfile(dir, address, cliSocket));

  let glusterdPid: number | undefined;
  /** Brick sockets seen after the volumes started (a volume stopped later leaves its socket behind). */
  const sockets = new Set<string>();
  /** `gluster` with this glusterd's socket and its own log file (not /var/log/glusterfs/cli.log). */
  const cli = ['gluster', `--glusterd-sock=${cliSocket}`, `--log-file=${join(dir, 'log', 'cli.log')}`, '--mode=script'];
  const gluster = async (args: readonly string[]) => (await runToolOk([...cli, ...args], { timeoutMs: 120_000 })).stdout;
  const kill = async () => {
    for (const pid of await brickPids(dir)) await killPid(pid);
    if (glusterdPid !== undefined) await killPid(glusterdPid);
    for (const socket of sockets) await rm(socket, { force: true });
  };
  const stop = async () => {
    for (const m of await readProcMounts()) {
      if (m.fstype === 'fuse.glusterfs' && m.source.startsWith(`${address}:`)) await runTool(['umount', '-l', m.target], { timeoutMs: 60_000 });
    }
    await kill();
    await runTool(['ip', 'netns', 'del', netns], { timeoutMs: 30_000 });
    // The FUSE client logs to /var/log/glusterfs/<mount point with '/' as '-'>.log; the test mount points are under `dir`.
    const logPrefix = `${dir.slice(1).replaceAll('/', '-')}-`;
    for (const f of await readdir(CLIENT_LOG_DIR).catch(() => [] as string[])) {
      if (f.startsWith(logPrefix) && f.endsWith('.log')) await rm(join(CLIENT_LOG_DIR, f), { force: true });
    }
  };

  try {
    await runToolOk(['ip', 'netns', 'add', netns]);
    await runToolOk(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    await runToolOk(['ip', '-n', netns, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
    await runToolOk(['ip', 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth, 'netns', netns]);
    await runToolOk(['ip', 'link', 'set', hostVeth, 'up']);
    await runToolOk(['ip', '-n', netns, 'link', 'set', nsVeth, 'up']);
    await runToolOk(['ip', 'route', 'add', `${address}/32`, 'dev', hostVeth]);
    await runToolOk(['ip', '-n', netns, 'route', 'add', 'default', 'dev', nsVeth]);
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, 'glusterd', '-N', '-f', join(dir, 'glusterd.vol'), '-p', join(dir, 'glusterd.pid'), '-l', join(dir, 'log', 'glusterd.log')], {
      stdio: 'ignore',
    });
    glusterdPid = child.pid;
    await waitFor(`glusterd answering on ${address}:24007`, async () => {
      if (child.exitCode !== null) throw new Error(`glusterd exited with ${child.exitCode}; see ${join(dir, 'log', 'glusterd.log')}`);
      return glusterdAnswers(address);
    });
    await waitFor('glusterd CLI socket', async () => (await runTool([...cli, 'volume', 'list'], { timeoutMs: 30_000 })).exitCode === 0);
    for (const volume of volumes) {
      await gluster(['volume', 'create', volume, `${address}:${join(dir, 'bricks', volume)}`, 'force']);
      await gluster(['volume', 'start', volume]);
    }
    for (const pid of await brickPids(dir)) {
      const socket = await brickSocket(pid);
      if (socket) sockets.add(socket);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, volumes, netns, cliSocket, dir, gluster, kill, stop };
}

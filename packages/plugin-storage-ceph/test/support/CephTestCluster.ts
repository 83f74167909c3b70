/**
 * A throw-away one-node Ceph cluster for tests: one mon, one mgr, one memstore OSD, all on
 * 127.0.0.1 inside a private directory (own ceph.conf, fsid, keyrings, run/log/data dirs;
 * nothing under /etc/ceph or /var is used), with an initialised RBD pool of size 1.
 *
 * Measured on the CI machine kind (Ceph 16.2.15 pacific, 2 cores): ready (HEALTH_OK, every PG
 * active+clean, mgr available) in about 2.7 s on an idle machine, 6-16 s under heavy load;
 * three clusters in parallel in about 8 s. About 235 MB RSS (mgr ~150 MB, mon and osd ~40 MB
 * each); `stop()` takes about 0.1 s. The speed comes from three settings explained in the
 * conf below: a private mgr module path, `paxos_propose_interval = 0.1` and no
 * device_health_metrics pool.
 *
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runTool, runToolOk } from '@corral/core/testing';

/** Programs the harness runs; tests skip (or fail in CI) when one is missing. */
export const CEPH_TEST_PROGRAMS: readonly string[] = ['ceph', 'ceph-mon', 'ceph-mgr', 'ceph-osd', 'monmaptool', 'rbd', 'rados'];

/** Where Debian's ceph-mgr-modules-core installs the mgr's Python modules. */
const MGR_MODULE_DIR = '/usr/share/ceph/mgr';
/** The always-on mgr modules of pacific plus the shared Python files they import. */
const MGR_MODULES = [
  'mgr_module.py',
  'mgr_util.py',
  'balancer',
  'crash',
  'devicehealth',
  'orchestrator',
  'pg_autoscaler',
  'progress',
  'rbd_support',
  'status',
  'telemetry',
  'volumes',
];

/** Options of {@link startCephTestCluster}. */
export interface CephTestClusterOptions {
  /**
   * Parent directory (must exist). The cluster lives in a fresh `ceph-XXXXXX` directory
   * created inside it, which `stop()` removes. Keep the path short: admin sockets go under it
   * and unix socket paths are limited to 107 bytes.
   */
  dir: string;
  /** RBD pool to create and `rbd pool init`. Default `rbd`. */
  pool?: string;
  /** PGs of that pool (autoscaler off). Default 8. */
  pgNum?: number;
  /** Name of the non-admin client (caps `profile rbd` on the pool). Default `corral`. */
  clientName?: string;
  /** Size of the memstore OSD in bytes (RAM, used only as data is written). Default 1 GiB. */
  memstoreBytes?: number;
  /** Give up after this many milliseconds. Default 120 000. */
  readyTimeoutMs?: number;
  /**
   * Health check codes (e.g. `POOL_NO_REDUNDANCY`) that may be raised while the cluster
   * counts as ready. Default: none, i.e. HEALTH_OK is required.
   */
  acceptableHealthChecks?: readonly string[];
  /** Called after each start step with its name and the milliseconds since the call (for timing reports). */
  onStep?: (step: string, elapsedMs: number) => void;
}

/** A running test cluster. */
export interface CephTestCluster {
  /** The cluster's private directory (removed by `stop()`). */
  dir: string;
  /** The cluster's ceph.conf (mon_host, fsid, keyring locations). */
  confPath: string;
  /** Keyring of the client `clientId` (caps `profile rbd` on `pool`). */
  keyringPath: string;
  /** Client id without the `client.` prefix, as Proxmox's `username` (e.g. `corral`). */
  clientId: string;
  /** Keyring of `client.admin` (all caps). */
  adminKeyringPath: string;
  /**
   * Monitor address for `-m` / `mon_host=` / Proxmox's `monhost`: `127.0.0.1:<port>` of the
   * msgr2 port, which clients reach without a protocol prefix.
   */
  monHost: string;
  /** Monitor address vector as written in ceph.conf: `[v2:127.0.0.1:P2,v1:127.0.0.1:P1]`. */
  monAddrs: string;
  /** The initialised RBD pool. */
  pool: string;
  /** Cluster fsid (UUID). */
  fsid: string;
  /** Milliseconds from the call to ready. */
  readyMs: number;
  /** Daemon pids (children of this process, run with `-f`). */
  pids: { mon: number; mgr: number; osd: number };
  /** Common arguments for `ceph`/`rbd`/`rados` as the client: `-c conf --id X --keyring K`. */
  clientArgs: readonly string[];
  /** Same as `clientArgs` for `client.admin`. */
  adminArgs: readonly string[];
  /**
   * Kills the daemons (SIGKILL, by pid), waits for them to exit and removes `dir`.
   * Idempotent; never throws for an already stopped cluster.
   */
  stop(): Promise<void>;
}

/** Pids of daemons started by this process and not yet reaped: killed if the process exits. */
const livePids = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** A free TCP port on 127.0.0.1 (bound and released; a small race remains, see retries). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A new cephx secret in Ceph's keyring encoding: base64 of u16 type (1 = AES), utime_t
 * created (u32 sec, u32 nsec), u16 length (16), then 16 random bytes.
 */
export function newCephKey(now = new Date()): string {
  const buf = Buffer.alloc(28);
  buf.writeUInt16LE(1, 0);
  buf.writeUInt32LE(Math.floor(now.getTime() / 1000), 2);
  buf.writeUInt32LE((now.getTime() % 1000) * 1_000_000, 6);
  buf.writeUInt16LE(16, 10);
  randomBytes(16).copy(buf, 12);
  return buf.toString('base64');
}

/** One keyring entry: entity name, secret and caps per service. */
interface KeyEntry {
  entity: string;
  key: string;
  caps: Record<string, string>;
}

function keyringText(entries: readonly KeyEntry[]): string {
  return entries
    .map((e) => {
      const caps = Object.entries(e.caps).map(([svc, cap]) => `\tcaps ${svc} = "${cap}"\n`);
      return `[${e.entity}]\n\tkey = ${e.key}\n${caps.join('')}`;
    })
    .join('');
}

interface Daemon {
  name: string;
  child: ChildProcess;
  pid: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: boolean;
  logPath: string;
}

function spawnDaemon(name: string, argv: readonly string[], logPath: string): Daemon {
  const [program, ...args] = argv;
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(program!, args, { stdio: ['ignore', fd, fd], env: { ...process.env, LC_ALL: 'C' } });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${name} (${argv.join(' ')})`);
  const pid = child.pid;
  livePids.add(pid);
  installExitHook();
  const d: Daemon = {
    name,
    child,
    pid,
    exited: false,
    logPath,
    exit: new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        d.exited = true;
        livePids.delete(pid);
        resolve({ code, signal });
      });
      child.on('error', () => {
        d.exited = true;
        livePids.delete(pid);
        resolve({ code: null, signal: null });
      });
    }),
  };
  // The daemons must not keep the test process alive; the exit hook kills leftovers.
  child.unref();
  return d;
}

async function tail(path: string, lines = 15): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown when the mon died during start (typically its port was taken): start is retried. */
class MonDiedError extends Error {}

/**
 * Starts a one-node Ceph cluster (see module doc) and resolves when it is ready: HEALTH_OK
 * (or only `acceptableHealthChecks` raised), the OSD up, the mgr available, every PG
 * active+clean, the pool initialised for RBD.
 *
 * Rejects with an Error carrying the failing command or the tail of the daemon logs when the
 * cluster is not ready within `readyTimeoutMs`; everything started is stopped and removed
 * before rejecting. Retries with new ports (up to 3 attempts) when the mon dies at start.
 */
export async function startCephTestCluster(options: CephTestClusterOptions): Promise<CephTestCluster> {
  const started = performance.now();
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options, started);
    } catch (e) {
      lastErr = e;
      if (!(e instanceof MonDiedError)) throw e;
    }
  }
  throw lastErr;
}

async function startOnce(options: CephTestClusterOptions, started: number): Promise<CephTestCluster> {
  const pool = options.pool ?? 'rbd';
  const pgNum = options.pgNum ?? 8;
  const clientId = options.clientName ?? 'corral';
  const memstoreBytes = options.memstoreBytes ?? 1024 ** 3;
  const deadline = started + (options.readyTimeoutMs ?? 120_000);
  const acceptable = new Set(options.acceptableHealthChecks ?? []);
  const step = (name: string) => options.onStep?.(name, performance.now() - started);

  const dir = await mkdtemp(join(options.dir, 'ceph-'));
  const daemons: Daemon[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const d of [...daemons].reverse()) {
      if (!d.exited) {
        try {
          process.kill(d.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(daemons.map((d) => d.exit)),
      new Promise<void>((r) => {
        timer = setTimeout(r, 10_000);
      }),
    ]);
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const fsid = randomUUID();
    const [v2Port, v1Port] = [await freePort(), await freePort()];
    const monAddrs = `[v2:127.0.0.1:${v2Port},v1:127.0.0.1:${v1Port}]`;
    const monHost = `127.0.0.1:${v2Port}`;
    const confPath = join(dir, 'ceph.conf');
    const keyringPath = join(dir, `ceph.client.${clientId}.keyring`);
    const adminKeyringPath = join(dir, 'ceph.client.admin.keyring');
    for (const sub of ['mon/a', 'mgr/x', 'osd/0', 'run', 'log']) await mkdir(join(dir, sub), { recursive: true });

    // WARNING: $name is "type.id" (mon.a); data dirs use $id. Daemon keyrings default to
    // <data dir>/keyring; clients get theirs from [client] so /etc/ceph is never read.
    const conf = [
      '[global]',
      `fsid = ${fsid}`,
      `mon_host = ${monAddrs}`,
      'public_addr = 127.0.0.1',
      'auth_cluster_required = cephx',
      'auth_service_required = cephx',
      'auth_client_required = cephx',
      'auth_allow_insecure_global_id_reclaim = false',
      `run_dir = ${dir}/run`,
      'osd_pool_default_size = 1',
      'osd_pool_default_min_size = 1',
      'osd_pool_default_pg_autoscale_mode = off',
      'osd_crush_chooseleaf_type = 0',
      'mon_allow_pool_size_one = true',
      'mon_allow_pool_delete = true',
      'mon_warn_on_pool_no_redundancy = false',
      // Ceph warns (MON_DISK_LOW) below 30% free on the mon's disk, which the CI machines are
      // close to (~31%): a throwaway cluster on a tmp dir only warns below 1%, and the mon
      // stops only when the disk is really full.
      'mon_data_avail_warn = 1',
      'mon_data_avail_crit = 0',
      // Mon changes are batched every paxos_propose_interval (1 s by default); every RBD
      // snapshot and pool change waits for one, so make it short.
      'paxos_propose_interval = 0.1',
      // Daemons report usage to the mgr every second (default 5 s), so `ceph df` follows writes.
      'mgr_stats_period = 1',
      // Only the always-on mgr modules (no restful/iostat/nfs): faster mgr start, less RAM.
      'mgr_initial_modules = ""',
      '',
      '[mon]',
      `mon_data = ${dir}/mon/$id`,
      `log_file = ${dir}/log/$cluster-$name.log`,
      '',
      '[mgr]',
      `mgr_data = ${dir}/mgr/$id`,
      // The mgr imports every module found in its module path (about 6 s for all of
      // /usr/share/ceph/mgr); a private path with only the always-on modules takes ~1.3 s.
      `mgr_module_path = ${dir}/mgr-modules`,
      `log_file = ${dir}/log/$cluster-$name.log`,
      '',
      '[osd]',
      `osd_data = ${dir}/osd/$id`,
      'osd_objectstore = memstore',
      `memstore_device_bytes = ${memstoreBytes}`,
      `log_file = ${dir}/log/$cluster-$name.log`,
      '',
      '[client]',
      `keyring = ${dir}/$cluster.$name.keyring`,
      '',
    ].join('\n');
    await writeFile(confPath, conf);
    await mkdir(join(dir, 'mgr-modules'));
    for (const m of MGR_MODULES) {
      if (existsSync(join(MGR_MODULE_DIR, m))) await symlink(join(MGR_MODULE_DIR, m), join(dir, 'mgr-modules', m));
    }

    const osdUuid = randomUUID();
    const keys: KeyEntry[] = [
      { entity: 'mon.', key: newCephKey(), caps: { mon: 'allow *' } },
      { entity: 'client.admin', key: newCephKey(), caps: { mds: 'allow *', mgr: 'allow *', mon: 'allow *', osd: 'allow *' } },
      { entity: 'mgr.x', key: newCephKey(), caps: { mds: 'allow *', mon: 'allow profile mgr', osd: 'allow *' } },
      { entity: 'osd.0', key: newCephKey(), caps: { mgr: 'allow profile osd', mon: 'allow profile osd', osd: 'allow *' } },
      {
        entity: `client.${clientId}`,
        key: newCephKey(),
        caps: { mgr: `profile rbd pool=${pool}`, mon: 'profile rbd', osd: `profile rbd pool=${pool}` },
      },
    ];
    const [, adminKey, mgrKey, osdKey, clientKey] = keys as [KeyEntry, KeyEntry, KeyEntry, KeyEntry, KeyEntry];
    // The mon's --mkfs keyring seeds the auth database with every entity at once.
    const monSeed = join(dir, 'mon-seed.keyring');
    await writeFile(monSeed, keyringText(keys), { mode: 0o600 });
    await writeFile(adminKeyringPath, keyringText([adminKey]), { mode: 0o600 });
    await writeFile(keyringPath, keyringText([clientKey]), { mode: 0o600 });
    await writeFile(join(dir, 'mgr/x/keyring'), keyringText([mgrKey]), { mode: 0o600 });
    await writeFile(join(dir, 'osd/0/keyring'), keyringText([osdKey]), { mode: 0o600 });

    const c = ['-c', confPath];
    const monmap = join(dir, 'monmap');
    await runToolOk(['monmaptool', '--create', '--addv', 'a', monAddrs, '--fsid', fsid, monmap]);
    await Promise.all([
      runToolOk(['ceph-mon', ...c, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', monSeed]),
      runToolOk(['ceph-osd', ...c, '--mkfs', '-i', '0', '--osd-uuid', osdUuid, '--no-mon-config']),
    ]);
    await rm(monSeed);
    step('mkfs');

    const log = (n: string) => join(dir, 'log', `${n}.out`);
    // A daemon that dies aborts the CLI call waiting on it (the ceph CLI retries forever).
    const died = new AbortController();
    const watch = (d: Daemon) => void d.exit.then(() => died.abort());
    const mon = spawnDaemon('ceph-mon', ['ceph-mon', ...c, '-f', '-i', 'a'], log('mon.a'));
    daemons.push(mon);
    const mgr = spawnDaemon('ceph-mgr', ['ceph-mgr', ...c, '-f', '-i', 'x'], log('mgr.x'));
    daemons.push(mgr);
    watch(mon);
    watch(mgr);

    const adminArgs = [...c, '--id', 'admin', '--keyring', adminKeyringPath];
    const clientArgs = [...c, '--id', clientId, '--keyring', keyringPath];
    const remaining = () => Math.max(1000, deadline - performance.now());
    const checkDaemons = async () => {
      for (const d of daemons) {
        if (d.exited) {
          const msg = `${d.name} (pid ${d.pid}) exited during start; log ${d.logPath}:\n${await tail(d.logPath)}`;
          throw d === mon ? new MonDiedError(msg) : new Error(msg);
        }
      }
    };
    const admin = async (args: readonly string[]) => {
      await checkDaemons();
      const r = await runTool(['ceph', ...adminArgs, '--connect-timeout', String(Math.ceil(remaining() / 1000)), ...args], {
        timeoutMs: remaining(),
        signal: died.signal,
      });
      if (r.exitCode !== 0) {
        await checkDaemons();
        throw new Error(`'ceph ${args.join(' ')}' failed (${r.exitCode ?? r.signal}): ${r.stderr.trim()}`);
      }
      return r.stdout;
    };

    // Register the OSD id (auth already seeded), start it; create the pool meanwhile.
    await Promise.all([
      admin(['osd', 'new', osdUuid, '0']),
      // No device_health_metrics pool: its extra PG delays HEALTH_OK by about 5 s.
      admin(['config', 'set', 'mgr', 'mgr/devicehealth/enable_monitoring', 'false', '--force']),
    ]);
    step('mon up, osd registered');
    const osd = spawnDaemon('ceph-osd', ['ceph-osd', ...c, '-f', '-i', '0'], log('osd.0'));
    daemons.push(osd);
    watch(osd);
    await admin(['osd', 'pool', 'create', pool, String(pgNum), String(pgNum)]);
    step('pool created');
    await checkDaemons();
    await runToolOk(['rbd', ...adminArgs, 'pool', 'init', pool], { timeoutMs: remaining(), signal: died.signal }).catch(
      async (e: unknown) => {
        await checkDaemons();
        throw e;
      },
    );
    step('rbd pool init');

    let last = '';
    while (performance.now() < deadline) {
      const s = JSON.parse(await admin(['status', '--format', 'json'])) as CephStatus;
      const why = notReadyReason(s, acceptable);
      if (!why) {
        step('ready');
        return {
          dir,
          confPath,
          keyringPath,
          clientId,
          adminKeyringPath,
          monHost,
          monAddrs,
          pool,
          fsid,
          readyMs: performance.now() - started,
          pids: { mon: mon.pid, mgr: mgr.pid, osd: osd.pid },
          clientArgs,
          adminArgs,
          stop,
        };
      }
      if (why !== last) step(`waiting: ${why}`);
      last = why;
      await sleep(250);
    }
    throw new Error(
      `ceph test cluster not ready after ${options.readyTimeoutMs ?? 120_000} ms: ${last}\n` +
        (await Promise.all(daemons.map(async (d) => `--- ${d.logPath}\n${await tail(d.logPath, 5)}`))).join('\n'),
    );
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The parts of `ceph status --format json` (pacific) that readiness looks at. */
interface CephStatus {
  health?: { status?: string; checks?: Record<string, { summary?: { message?: string } }> };
  osdmap?: { num_osds?: number; num_up_osds?: number; num_in_osds?: number };
  mgrmap?: { available?: boolean };
  pgmap?: { num_pgs?: number; pgs_by_state?: { state_name: string; count: number }[] };
}

/** Why the cluster is not ready yet, or '' when it is. */
function notReadyReason(s: CephStatus, acceptable: ReadonlySet<string>): string {
  const health = s.health?.status;
  if (health !== 'HEALTH_OK') {
    const checks = Object.entries(s.health?.checks ?? {});
    const bad = checks.filter(([code]) => !acceptable.has(code));
    if (health !== 'HEALTH_WARN' || bad.length > 0) {
      return `${health}: ${bad.map(([code, v]) => `${code} ${v.summary?.message ?? ''}`).join('; ')}`;
    }
  }
  if (!s.mgrmap?.available) return 'mgr not available';
  if ((s.osdmap?.num_up_osds ?? 0) < 1) return 'osd not up';
  const pgs = s.pgmap?.num_pgs ?? 0;
  const clean = (s.pgmap?.pgs_by_state ?? []).filter((p) => p.state_name === 'active+clean').reduce((n, p) => n + p.count, 0);
  if (pgs === 0 || clean !== pgs) return `pgs ${clean}/${pgs} active+clean`;
  return '';
}

/**
 * Does KVM really run guests here? "/dev/kvm opens" is not the answer: some hosts (nested
 * "kvm-pvm", HOST-FACTS) have a /dev/kvm that opens read-write but runs a guest about a
 * hundred times slower than TCG, so a real guest seems to hang, and `-cpu host`/`max` abort
 * there ("failed to set MSR 0x10a"). The probe boots {@link kvmProbePayload} under
 * `-accel kvm` and asks it to finish within a bound.
 *
 * @packageDocumentation
 */
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { CommandFailedError, CommandTimeoutError, NotFoundError, type CommandRunner } from '@corral/core';
import { DEFAULT_QEMU_BINARY } from '../cmdline/QemuCommandLine.js';
import { KVM_PROBE_EXIT_PORT, KVM_PROBE_OK_EXIT_STATUS, KVM_PROBE_STAGES, KVM_PROBE_WRONG_EXIT_STATUS, kvmProbePayload } from './kvmProbePayload.js';
import { isQemuOf, signalProcess, waitForExit } from './QemuProcess.js';

/** Default bound of one probe run, ms: a working KVM needs well under 0.1 s, TCG about 0.15 s. */
export const KVM_PROBE_TIMEOUT_MS = 3_000;
/** The CPU model the accelerator probe runs with (the base of the driver's default model under KVM). */
export const KVM_PROBE_DEFAULT_CPU = 'kvm64';
/** How long a failure that may pass (QEMU could not start) is remembered before the next probe, ms. */
const TRANSIENT_FAILURE_TTL_MS = 60_000;
/**
 * How long a probe that did not finish within its bound is believed, ms (5 minutes). A host
 * under load can make a working KVM miss the bound, so that answer is provisional: it is
 * cached (in memory and in the cache file) only this long, and the next check after it runs
 * QEMU again. A broken KVM (nested kvm-pvm) times out again and costs one probe per period.
 */
export const KVM_PROBE_TIMEOUT_TTL_MS = 5 * 60_000;

/** Name of the cache file in the probe's cache directory. */
export const KVM_PROBE_CACHE_FILE = 'kvm-probe.json';

/** Options of {@link KvmProbe}. */
export interface KvmProbeOptions {
  /** QEMU binary (a name looked up on PATH, or a path). Default `qemu-system-x86_64`. */
  readonly binary?: string;
  /**
   * Directory of the cache file ({@link KVM_PROBE_CACHE_FILE}) and of the probe's scratch
   * directories (the plugin's run directory). Without it results are kept in memory only
   * and scratch files go to the OS temp directory.
   */
  readonly cacheDir?: string;
  /** Bound of one probe run, ms. Default {@link KVM_PROBE_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** The KVM device. Default `/dev/kvm` (tests point it elsewhere). */
  readonly device?: string;
  /** Where the host's boot id is read. Default `/proc/sys/kernel/random/boot_id`. */
  readonly bootIdFile?: string;
  /** Rounds of the payload's workload (tests). Default: the payload's own. */
  readonly iterations?: number;
  /** The wall clock, ms since the epoch, for `probedAt` and the expiry of provisional answers (tests move it). Default `Date.now`. */
  readonly clock?: () => number;
}

/** The answer of {@link KvmProbe.check}. */
export interface KvmProbeResult {
  /** KVM ran the probe guest, with this CPU model, correctly and within the bound. */
  readonly usable: boolean;
  /** Why not, as a sentence fragment ("the probe guest did not finish within 3000 ms..."); absent when usable. */
  readonly reason?: string;
  /** The CPU model probed (`kvm64`, `host`, `max`). */
  readonly cpu: string;
  /** Wall time of the probe's QEMU run, ms (0 when no QEMU ran). */
  readonly durationMs: number;
  /** When QEMU ran for this answer, ms since the epoch (0 when none ran). */
  readonly probedAt: number;
  /**
   * Until when the answer counts, ms since the epoch; the first check after it probes again.
   * Set for a provisional answer (the probe timed out: {@link KVM_PROBE_TIMEOUT_TTL_MS}) and
   * for a failure that may pass (QEMU could not start: one minute, memory only). Absent when
   * the answer holds for this host boot and QEMU binary.
   */
  readonly validUntil?: number;
  /**
   * Where the answer came from: `probe` (QEMU ran now), `memory` (an earlier answer in this
   * process, same boot and binary), `file` (the cache file, same boot and binary), `device`
   * (/dev/kvm is missing or not read-write: no QEMU needed).
   */
  readonly source: 'probe' | 'memory' | 'file' | 'device';
}

/** What identifies a cached answer: this boot of the host and this QEMU binary. */
interface ProbeKey {
  readonly bootId: string;
  readonly binary: { readonly path: string; readonly size: number; readonly mtimeMs: number };
}

type StoredResult = Pick<KvmProbeResult, 'usable' | 'reason' | 'cpu' | 'durationMs' | 'probedAt' | 'validUntil'>;

/** How long a probe's answer holds: the host boot, {@link KVM_PROBE_TIMEOUT_TTL_MS} (a timeout), or a minute in memory (QEMU could not start). */
type AnswerLifetime = 'boot' | 'provisional' | 'transient';

/** True when `r` has a validity bound that `now` (ms since the epoch) has reached. */
function expired(r: Pick<KvmProbeResult, 'validUntil'>, now: number): boolean {
  return r.validUntil !== undefined && r.validUntil <= now;
}

/** The cache file's content. */
interface CacheFile extends ProbeKey {
  readonly results: Readonly<Record<string, StoredResult>>;
}

/**
 * Probes KVM for real, once per host boot and QEMU binary.
 *
 * - {@link check} first checks that the device opens read-write (no QEMU runs when it does
 *   not), then looks for an answer for this boot id + binary (path, size, mtime) + CPU model
 *   in memory, then in the cache file, and only then runs QEMU: `-accel kvm -cpu <model>` on
 *   the probe payload, with the bound as the command runner's timeout. Concurrent checks
 *   share one run (one in-flight promise per key).
 * - A run that times out is killed by the runner (SIGKILL); the probe also reads the run's
 *   pid file and kills a QEMU that is still there, so no probe QEMU outlives the check.
 * - Answers hold for the host boot, except a timeout, which is provisional (a loaded host can
 *   make a working KVM miss the bound): it counts for {@link KVM_PROBE_TIMEOUT_TTL_MS} (see
 *   {@link KvmProbeResult.validUntil}), then the next check probes again. {@link forget}
 *   drops every answer, so the next check probes at once.
 * - Never throws for what it finds (a missing binary, an abort, a timeout are all answers
 *   with a reason); throws only when it cannot make its scratch directory or write the
 *   payload there. Writing the cache file is best effort.
 * - No lock: two processes that check at the same moment of a new boot may both probe; the
 *   file is replaced atomically, so readers see one answer or the other.
 */
export class KvmProbe {
  readonly #options: KvmProbeOptions;
  readonly #inFlight = new Map<string, Promise<KvmProbeResult>>();
  #writes: Promise<void> = Promise.resolve();

  constructor(options: KvmProbeOptions = {}) {
    this.#options = options;
  }

  /**
   * Whether KVM runs guests with CPU model `cpu` (default {@link KVM_PROBE_DEFAULT_CPU}).
   * Takes no time when cached, at most the bound plus QEMU's start-up (about 0.1 s) when not.
   */
  async check(runner: CommandRunner, options: { cpu?: string } = {}): Promise<KvmProbeResult> {
    const cpu = options.cpu ?? KVM_PROBE_DEFAULT_CPU;
    const device = this.#options.device ?? '/dev/kvm';
    const unusableDevice = await deviceProblem(device);
    if (unusableDevice) return { usable: false, reason: unusableDevice, cpu, durationMs: 0, probedAt: 0, source: 'device' };
    const binary = this.#options.binary ?? DEFAULT_QEMU_BINARY;
    const binaryPath = await findProgram(binary);
    if (!binaryPath) return { usable: false, reason: `QEMU binary '${binary}' was not found`, cpu, durationMs: 0, probedAt: 0, source: 'device' };
    const key: ProbeKey = { bootId: await this.#bootId(), binary: await binaryIdentity(binaryPath) };
    const memoryKey = JSON.stringify([key, cpu]);
    for (let earlier = this.#inFlight.get(memoryKey); earlier; earlier = this.#inFlight.get(memoryKey)) {
      const result = await earlier;
      if (!expired(result, this.#now())) return { ...result, source: 'memory' };
      // Expired (a provisional or transient answer): the first caller to see it drops it and probes again.
      if (this.#inFlight.get(memoryKey) === earlier) this.#inFlight.delete(memoryKey);
    }
    const answer = this.#answer(runner, key, cpu);
    this.#inFlight.set(memoryKey, answer);
    try {
      return await answer;
    } catch (err) {
      this.#inFlight.delete(memoryKey);
      throw err;
    }
  }

  /**
   * Forgets every answer (memory and cache file, all CPU models), so that the next
   * {@link check} runs QEMU again: for an embedder that knows the host changed (load gone, a
   * KVM module reloaded) or an operator's "probe again". A check already running finishes
   * with its own answer but does not keep it for later checks.
   *
   * @throws only when the cache file exists and cannot be removed (EACCES, EIO).
   */
  async forget(): Promise<void> {
    this.#inFlight.clear();
    const dir = this.#options.cacheDir;
    if (!dir) return;
    const remove = (): Promise<void> => rm(join(dir, KVM_PROBE_CACHE_FILE), { force: true });
    this.#writes = this.#writes.then(remove, remove);
    await this.#writes;
  }

  async #answer(runner: CommandRunner, key: ProbeKey, cpu: string): Promise<KvmProbeResult> {
    const cached = (await this.#readCache(key))?.results[cpu];
    if (cached && !expired(cached, this.#now())) return { ...cached, source: 'file' };
    const { result, lifetime } = await this.#run(runner, key.binary.path, cpu);
    // A failure that may pass (QEMU busy, out of memory, a spawn error) is kept in memory only, briefly;
    // the others go to the file too. Best effort: an unwritable cache file costs other processes a probe of their own.
    if (lifetime !== 'transient') await this.#writeCache(key, result).catch(() => undefined);
    return { ...result, source: 'probe' };
  }

  #now(): number {
    return (this.#options.clock ?? Date.now)();
  }

  async #bootId(): Promise<string> {
    try {
      return (await readFile(this.#options.bootIdFile ?? '/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    } catch {
      return 'unknown'; // no /proc: cache per process lifetime only (the file key never matches another boot's)
    }
  }

  async #run(runner: CommandRunner, binaryPath: string, cpu: string): Promise<{ result: StoredResult; lifetime: AnswerLifetime }> {
    const timeoutMs = this.#options.timeoutMs ?? KVM_PROBE_TIMEOUT_MS;
    const base = this.#options.cacheDir ?? tmpdir();
    await mkdir(base, { recursive: true });
    if (this.#options.cacheDir) await removeStaleScratchDirs(base);
    const dir = await mkdtemp(join(base, 'kvm-probe-'));
    const image = join(dir, 'probe.fd');
    const pidFile = join(dir, 'qemu.pid');
    const stagesFile = join(dir, 'stages.log');
    const probedAt = this.#now();
    const started = performance.now();
    try {
      await writeFile(image, kvmProbePayload(this.#options.iterations));
      const argv = [
        binaryPath,
        '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
        '-machine', 'pc', '-accel', 'kvm', '-cpu', cpu, '-smp', '1', '-m', '16',
        '-bios', image,
        '-device', `isa-debug-exit,iobase=0x${KVM_PROBE_EXIT_PORT.toString(16)},iosize=0x04`,
        '-debugcon', `file:${stagesFile}`,
        '-pidfile', pidFile,
      ];
      let failure: { reason: string; lifetime: AnswerLifetime } | undefined;
      try {
        await runner.run(argv, { timeoutMs, okExitCodes: [KVM_PROBE_OK_EXIT_STATUS], maxOutputBytes: 64 * 1024 });
      } catch (err) {
        failure = await failureReason(err, { timeoutMs, stagesFile, cpu });
      }
      const durationMs = Math.round(performance.now() - started);
      if (!failure) return { result: { usable: true, cpu, durationMs, probedAt }, lifetime: 'boot' };
      const result: StoredResult = { usable: false, reason: failure.reason, cpu, durationMs, probedAt };
      if (failure.lifetime === 'boot') return { result, lifetime: 'boot' };
      const ttl = failure.lifetime === 'provisional' ? KVM_PROBE_TIMEOUT_TTL_MS : TRANSIENT_FAILURE_TTL_MS;
      return { result: { ...result, validUntil: probedAt + durationMs + ttl }, lifetime: failure.lifetime };
    } finally {
      await killLeftover(pidFile);
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #readCache(key: ProbeKey): Promise<CacheFile | undefined> {
    if (!this.#options.cacheDir) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(this.#options.cacheDir, KVM_PROBE_CACHE_FILE), 'utf8'));
    } catch {
      return undefined; // missing or unreadable: probe again and rewrite it
    }
    if (!isCacheFile(parsed) || !sameKey(parsed, key)) return undefined;
    return parsed;
  }

  /** Adds `result` to the cache file (atomically: temp file + rename), one write at a time. */
  #writeCache(key: ProbeKey, result: StoredResult): Promise<void> {
    const dir = this.#options.cacheDir;
    if (!dir) return Promise.resolve();
    const write = async (): Promise<void> => {
      const current = await this.#readCache(key);
      const kept = Object.fromEntries(Object.entries(current?.results ?? {}).filter(([, r]) => !expired(r, this.#now())));
      const content: CacheFile = { ...key, results: { ...kept, [result.cpu]: result } };
      const file = join(dir, KVM_PROBE_CACHE_FILE);
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(content, null, 2)}\n`);
      await rename(tmp, file);
    };
    this.#writes = this.#writes.then(write, write);
    return this.#writes;
  }
}

/** Why `device` cannot be used, or undefined when it opens read-write. */
async function deviceProblem(device: string): Promise<string | undefined> {
  try {
    await access(device, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${device} does not exist (no KVM on this host)`;
    return `${device} cannot be opened read-write (${code ?? String(err)})`;
  }
}

/** The absolute path `program` runs from (PATH lookup for a bare name), or undefined. */
async function findProgram(program: string): Promise<string | undefined> {
  const candidates = program.includes('/')
    ? [program]
    : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).filter(isAbsolute).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}

async function binaryIdentity(path: string): Promise<ProbeKey['binary']> {
  const s = await stat(path);
  return { path, size: s.size, mtimeMs: s.mtimeMs };
}

function sameKey(a: ProbeKey, b: ProbeKey): boolean {
  return a.bootId === b.bootId && a.binary.path === b.binary.path && a.binary.size === b.binary.size && a.binary.mtimeMs === b.binary.mtimeMs;
}

function isCacheFile(v: unknown): v is CacheFile {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Partial<CacheFile>;
  if (typeof f.bootId !== 'string' || typeof f.binary !== 'object' || f.binary === null) return false;
  if (typeof f.binary.path !== 'string' || typeof f.binary.size !== 'number' || typeof f.binary.mtimeMs !== 'number') return false;
  if (typeof f.results !== 'object' || f.results === null) return false;
  return Object.entries(f.results).every(
    ([cpu, r]) => typeof r === 'object' && r !== null && r.cpu === cpu && typeof r.usable === 'boolean' && typeof r.durationMs === 'number' && typeof r.probedAt === 'number' && (r.reason === undefined || typeof r.reason === 'string') && (r.validUntil === undefined || typeof r.validUntil === 'number'),
  );
}

/** What the stage letters in the debug console say the payload reached. */
async function stageReached(stagesFile: string): Promise<string> {
  const letters = (await readFile(stagesFile, 'latin1').catch(() => '')).slice(0, 16);
  const last = letters.at(-1);
  return last && KVM_PROBE_STAGES[last] ? `it ${KVM_PROBE_STAGES[last]}` : 'it printed nothing';
}

/** The first lines of QEMU's stderr that are not warnings, shortened. */
function stderrGist(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^[^:]*: warning:/.test(l));
  const gist = lines.slice(0, 2).join(' / ');
  return gist.length > 300 ? `${gist.slice(0, 300)}...` : gist;
}

/**
 * Why the probe failed, and how long that answer holds: the whole boot (the guest computed
 * wrongly, or QEMU aborted as a broken KVM makes it), {@link KVM_PROBE_TIMEOUT_TTL_MS} (the
 * guest did not finish within the bound: a broken KVM, or a working one on a loaded host), or
 * briefly (QEMU could not start: busy, out of memory, a spawn error).
 */
async function failureReason(err: unknown, ctx: { timeoutMs: number; stagesFile: string; cpu: string }): Promise<{ reason: string; lifetime: AnswerLifetime }> {
  if (err instanceof CommandTimeoutError) {
    const stage = await stageReached(ctx.stagesFile);
    return {
      reason: `the probe guest (-cpu ${ctx.cpu}) did not finish within ${ctx.timeoutMs} ms (${stage}; TCG runs it in about 0.15 s): this KVM runs guests far too slowly or not at all, or the host is heavily loaded`,
      lifetime: 'provisional',
    };
  }
  if (err instanceof CommandFailedError) {
    if (err.exitCode === KVM_PROBE_WRONG_EXIT_STATUS) return { reason: `the probe guest (-cpu ${ctx.cpu}) computed a wrong 64-bit result`, lifetime: 'boot' };
    const how = err.signal ? `was killed by ${err.signal}` : `exited with code ${err.exitCode}`;
    const gist = stderrGist(err.stderr ?? '');
    const broken = err.signal === 'SIGABRT' || /failed to set MSR/.test(err.stderr ?? '');
    return { reason: `QEMU -accel kvm -cpu ${ctx.cpu} ${how}${gist ? `: ${gist}` : ''}`, lifetime: broken ? 'boot' : 'transient' };
  }
  if (err instanceof NotFoundError) return { reason: err.message, lifetime: 'transient' };
  return { reason: `the probe failed: ${(err as Error)?.message ?? String(err)}`, lifetime: 'transient' };
}

/** Scratch directories and cache temp files of probes whose process died (older than a minute) are removed. */
async function removeStaleScratchDirs(dir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const scratch = name.startsWith('kvm-probe-');
    if (!scratch && !(name.startsWith(`${KVM_PROBE_CACHE_FILE}.`) && name.endsWith('.tmp'))) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st && now - st.mtimeMs > 60_000) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** Kills the probe's QEMU if it still runs (a runner that did not kill it at the timeout). */
async function killLeftover(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1 || !(await isQemuOf(pid, pidFile))) return;
  signalProcess(pid, 'SIGKILL');
  await waitForExit(pid, { timeoutMs: 5_000, what: `the KVM probe's QEMU (pid ${pid}) to die`, pidFile });
}

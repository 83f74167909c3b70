/**
 * The QEMU/KVM hypervisor driver (guest type `qemu`): Proxmox qemu-server's job.
 *
 * @packageDocumentation
 */
import { constants } from 'node:fs';
import { copyFile, open, readdir, rm, stat } from 'node:fs/promises';
import {
  formatSize,
  isUnusedKey,
  InvalidConfigError,
  InvalidStateError,
  NodeCommandRunner,
  NotSupportedError,
  parsePropertyString,
  printPropertyString,
  ProtocolError,
  TimeoutError,
  VOLUME_ID_RE,
  withReverter,
  type ApplyChangesResult,
  type CommandRunner,
  type ConsoleEndpoint,
  type GuestConfigEntries,
  type GuestContext,
  type GuestExecResult,
  type GuestRuntimeStatus,
  type GuestVolumeRef,
  type GuestVolumeRequest,
  type HypervisorDriver,
  type HypervisorInfo,
  type PrivilegedUse,
  type Reverter,
  type VolumeAccess,
  type VolumeFormat,
} from '@corral/core';
import { buildQemuCommandLine, DEFAULT_QEMU_BINARY, type QemuCommandLine, type QemuHostFeatures } from './cmdline/QemuCommandLine.js';
import type { QemuConfig, QemuHostPciSpec } from './config/QemuConfig.js';
import { DRIVE_PROPERTY_FORMAT } from './config/driveFormat.js';
import { isDriveKey, NEW_VOLUME, parseQemuConfig } from './config/parseQemuConfig.js';
import { qemuPrivilegedUses } from './config/qemuPrivilegedUses.js';
import { checkNics } from './runtime/checkNics.js';
import { applyHotplug } from './QemuHotplug.js';
import { createSnapshot, deleteSnapshot, loadVmState, recoverInterruptedSnapshot, rollbackSnapshot } from './QemuSnapshots.js';
import { QgaClient } from './qmp/QgaClient.js';
import { QmpClient } from './qmp/QmpClient.js';
import type { ResourceControl } from './resources/ResourceControl.js';
import { selectResourceControl, type ResourceControlOptions } from './resources/selectResourceControl.js';
import { acceleratorMode, checkAcceleratorMode, type AcceleratorMode } from './runtime/acceleratorMode.js';
import { KvmProbe } from './runtime/KvmProbe.js';
import { acceleratorStatus, type QemuAcceleratorStatus } from './runtime/acceleratorStatus.js';
import { probeHostFeatures } from './runtime/probeHostFeatures.js';
import { findQemuPid, readProcStat, signalProcess, waitForExit } from './runtime/QemuProcess.js';
import { qemuRunPaths, type QemuRunPaths } from './runtime/QemuRunPaths.js';
import { readRuntimeRecord, writeRuntimeRecord, type QemuRuntimeRecord } from './runtime/QemuRuntimeRecord.js';
import { withQemuLog } from './runtime/withQemuLog.js';
import { withQmp } from './runtime/withQmp.js';

/** Options of {@link QemuHypervisorDriver}. */
export interface QemuDriverOptions {
  /** QEMU binary. Default `qemu-system-x86_64`. */
  readonly binary?: string;
  /** Resource control, or how to pick one (default: systemd, else cgroup v1, else none). */
  readonly resourceControl?: ResourceControl | ResourceControlOptions;
  /** Memory QEMU itself needs beyond guest RAM, MiB, added to the memory limit. Default 512. */
  readonly memoryOverheadMiB?: number;
  /** Default time `start` waits for QEMU to daemonize, ms. Default 60 s. */
  readonly startTimeoutMs?: number;
  /** Default time `stop` waits after QMP `quit` before SIGKILL, ms. Default 10 s. */
  readonly stopTimeoutMs?: number;
  /**
   * Accelerator: `auto` (default) probes KVM once per host boot and falls back to TCG with a
   * task-log warning; `kvm` uses KVM without probing; `tcg` never uses KVM. The environment
   * variable `CORRAL_QEMU_ACCEL` (same values) wins over this option. A guest's `kvm: 0`
   * always means TCG.
   */
  readonly accelerator?: AcceleratorMode;
  /**
   * The plugin's run directory: the KVM probe keeps its per-boot cache file
   * (`kvm-probe.json`) and scratch files there. `createKvmPlugin` passes
   * `<kernel runDir>/kvm`. Without it the probe caches in memory only.
   */
  readonly runDir?: string;
  /** Replaces the host probe (tests that build command lines for a host with KVM). */
  readonly hostFeatures?: () => Promise<QemuHostFeatures>;
}

/** Volume keys of a config: drives, `efidisk0`, `unusedN`, `vmstate`. */
function isVolumeKey(key: string): boolean {
  return isDriveKey(key) || key === 'efidisk0' || isUnusedKey(key) || key === 'vmstate';
}

/** OVMF variable store sizes by efitype, bytes. */
const EFI_VARS_SIZE = { '2m': 128 * 1024, '4m': 540672 } as const;

/**
 * Runs VMs with QEMU: KVM when it really runs guests here (a probe boots a tiny guest once per
 * host boot, see `KvmProbe`; the embedder can force either accelerator, see
 * {@link QemuDriverOptions.accelerator}), TCG otherwise. The start task logs the accelerator
 * and why, and warns when TCG is a fallback ("KVM probe failed: ...; running under TCG"). A
 * probe that timed out is provisional (load can cause it) and is probed again after a few
 * minutes; {@link QemuHypervisorDriver.acceleratorStatus} reports the choice and
 * {@link QemuHypervisorDriver.reprobeAccelerator} probes again at once.
 *
 * - `start` checks the config and the host (bridges, PCI devices) before anything runs,
 *   resolves every volume through storage, runs QEMU `-daemonize -S` through the command
 *   runner (so the VM outlives the kernel process), places it (systemd scope or cgroup v1)
 *   with the limits, puts its taps into their bridges, loads RAM state when asked, and
 *   continues the CPUs; it resolves once QMP `query-status` says `running` (or `paused` with
 *   `freeze: 1`). Any failure kills QEMU and undoes every step.
 * - The run directory holds the pid file, two QMP sockets (operations, status), the guest agent
 *   socket, the VNC socket and `serialN` sockets, and `runtime.json`: a new kernel finds a
 *   running VM again through them. It also holds `qemu.log` (QEMU's `-D` log and, once
 *   daemonized, its stderr) and `serialN.log` (what the guest printed), kept after a stop.
 * - `status().detail` of a running VM: `accel`, `accelReason`, `qemuLog`, `serialLogs`
 *   (`{ serial0: path }`), `placement`, and `qmpStatus` (or `qmpError`).
 * - `status` is cheap when stopped (pid file + /proc); a zombie QEMU counts as stopped.
 * - Errors: `InvalidConfigError` naming the key, `InvalidStateError` (start of a running VM,
 *   stop of a stopped one), `TimeoutError`, `ProtocolError` (QMP/agent), `CommandFailedError`
 *   (QEMU refused its command line: stderr says why).
 */
export class QemuHypervisorDriver implements HypervisorDriver {
  readonly info: HypervisorInfo = {
    type: 'qemu',
    configDir: 'qemu-server',
    snapshotWithState: true,
    suspendToDisk: false,
    consoles: ['vnc', 'serial'],
  };
  readonly #options: QemuDriverOptions;
  readonly #kvmProbe: KvmProbe;
  #resources: Promise<ResourceControl> | undefined;

  /** @throws InvalidArgumentError when `accelerator` is not `auto`, `kvm` or `tcg`. */
  constructor(options: QemuDriverOptions = {}) {
    if (options.accelerator !== undefined) checkAcceleratorMode(options.accelerator);
    this.#options = options;
    this.#kvmProbe = new KvmProbe({ binary: options.binary, cacheDir: options.runDir });
  }

  /**
   * The accelerator a VM start gets now and how it was chosen: the mode in force and who set
   * it, the probe's answer (fresh, cached, or no device), and whether that answer is
   * provisional (a probe timeout, which load can cause, counts for `KVM_PROBE_TIMEOUT_TTL_MS`
   * only; `validUntil` says until when). In mode `auto` with nothing cached this runs the KVM
   * probe (at most its bound, 3 s, plus QEMU's start-up); it takes no lock. The `hostFeatures`
   * test override is not consulted.
   *
   * @param runner runs the probe's QEMU (default: a {@link NodeCommandRunner}).
   * @throws InvalidArgumentError naming `CORRAL_QEMU_ACCEL` when it has a bad value.
   */
  acceleratorStatus(runner: CommandRunner = new NodeCommandRunner()): Promise<QemuAcceleratorStatus> {
    return acceleratorStatus(runner, { kvmProbe: this.#kvmProbe, mode: acceleratorMode(this.#options.accelerator) });
  }

  /**
   * Forgets the KVM probe's answers (in memory and the per-boot cache file, every CPU model)
   * and, in mode `auto`, probes again now; later starts use the new answer. For an embedder
   * or operator who knows the host changed (load gone after a provisional TCG fallback, KVM
   * fixed). VMs already running keep their accelerator. Same cost, errors and result as
   * {@link acceleratorStatus}; also throws when the cache file cannot be removed.
   */
  async reprobeAccelerator(runner: CommandRunner = new NodeCommandRunner()): Promise<QemuAcceleratorStatus> {
    await this.#kvmProbe.forget();
    return this.acceleratorStatus(runner);
  }

  /** The resource control in use (picked on first use). */
  resourceControl(): Promise<ResourceControl> {
    const rc = this.#options.resourceControl;
    this.#resources ??= rc && 'place' in rc ? Promise.resolve(rc) : selectResourceControl(rc as ResourceControlOptions | undefined);
    return this.#resources;
  }

  // ------------------------------------------------------------------ config

  validate(entries: GuestConfigEntries): void {
    parseQemuConfig(entries, { vmid: 0 });
  }

  volumes(entries: GuestConfigEntries): GuestVolumeRef[] {
    const out: GuestVolumeRef[] = [];
    for (const [key, value] of Object.entries(entries)) {
      if (!isVolumeKey(key)) continue;
      let file: string | undefined;
      let cdrom = false;
      if (key === 'vmstate') {
        file = value;
      } else {
        try {
          const r = parsePropertyString(value, DRIVE_PROPERTY_FORMAT, { key });
          file = r.file;
          cdrom = r.media === 'cdrom';
        } catch {
          continue;
        }
      }
      if (!file || !VOLUME_ID_RE.test(file) || NEW_VOLUME.test(file)) continue;
      out.push({ key, volid: file, content: cdrom ? 'iso' : 'images', isCdrom: cdrom });
    }
    return out;
  }

  volumeRequests(entries: GuestConfigEntries): GuestVolumeRequest[] {
    const out: GuestVolumeRequest[] = [];
    for (const [key, value] of Object.entries(entries)) {
      if (!isDriveKey(key) && key !== 'efidisk0') continue;
      let r: Record<string, string>;
      try {
        r = parsePropertyString(value, DRIVE_PROPERTY_FORMAT, { key });
      } catch {
        continue;
      }
      const m = r.file ? NEW_VOLUME.exec(r.file) : null;
      if (!m || r.media === 'cdrom') continue;
      let sizeBytes = Math.round(Number(m[2]) * 1024 ** 3);
      if (key === 'efidisk0') sizeBytes = EFI_VARS_SIZE[(r.efitype as '2m' | '4m' | undefined) ?? '2m'] ?? EFI_VARS_SIZE['2m'];
      if (sizeBytes <= 0) throw new InvalidConfigError(key, value, `invalid value for '${key}': a new volume needs a size above 0 GiB`);
      const format = r.format as VolumeFormat | undefined;
      out.push({ key, storage: m[1]!, sizeBytes, content: 'images', format: key === 'efidisk0' && !format ? 'raw' : format });
    }
    return out;
  }

  privilegedUses(entries: GuestConfigEntries, keys: readonly string[]): PrivilegedUse[] {
    return qemuPrivilegedUses(entries, keys);
  }

  replaceVolume(key: string, value: string, volid: string, sizeBytes?: number): string {
    if (key === 'vmstate' || isUnusedKey(key)) return volid;
    const r = parsePropertyString(value, DRIVE_PROPERTY_FORMAT, { key });
    const next: Record<string, string> = { file: volid };
    for (const [k, v] of Object.entries(r)) if (k !== 'file') next[k] = v;
    if (sizeBytes !== undefined) next.size = formatSize(sizeBytes);
    return printPropertyString(next, DRIVE_PROPERTY_FORMAT, { key });
  }

  // ------------------------------------------------------------------ lifecycle

  async start(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs?: number; stateVolid?: string }): Promise<void> {
    let config = parseQemuConfig(entries, { vmid: ctx.vmid });
    const paths = qemuRunPaths(ctx.runDir);
    if (await findQemuPid(paths.pidFile)) throw new InvalidStateError('running', `VM ${ctx.vmid} is running already`);
    await this.#cleanup(ctx, paths, { quiet: true });
    const host = await this.#hostFeatures(ctx.runner, config);
    const nics = await checkNics(ctx, config, entries);
    config = await this.#checkHost(config);
    const resources = await this.resourceControl();
    await withReverter(async (revert) => {
      const volumes = await this.#resolveVolumes(ctx, config, revert);
      if (config.bios === 'ovmf') await this.#prepareEfiVars(config, host, paths, volumes);
      const cmd = this.#commandLine(config, paths, host, volumes, nics.bridgeMtus);
      ctx.log.info(`accelerator: ${cmd.accel} (${cmd.accelReason})`);
      for (const w of cmd.warnings) ctx.log.warn(w);
      revert.add(() => this.#cleanup(ctx, paths, { quiet: true }), 'stop QEMU and clean the run directory');
      try {
        await ctx.runner.run(cmd.argv, { timeoutMs: options.timeoutMs ?? this.#options.startTimeoutMs ?? 60_000, signal: ctx.signal });
      } catch (err) {
        throw await withQemuLog(err, paths.qemuLog);
      }
      const pid = await findQemuPid(paths.pidFile);
      if (!pid) throw new ProtocolError('qemu', `QEMU for VM ${ctx.vmid} daemonized but its pid file ${paths.pidFile} names no live process`);
      const logs = { qemu: paths.qemuLog, serial: Object.fromEntries([...config.serials.keys()].map((i) => [`serial${i}`, paths.serialLog(i)])) };
      ctx.log.info(`QEMU started (pid ${pid}, ${cmd.accel}); QEMU log ${logs.qemu}${Object.values(logs.serial).map((p) => `, serial log ${p}`).join('')}`);
      const taps = Object.fromEntries(nics.nics.map((n) => [n.key, n.ifname]));
      const record: QemuRuntimeRecord = {
        vmid: ctx.vmid,
        pid,
        startedAt: Date.now(),
        accel: cmd.accel,
        accelReason: cmd.accelReason,
        logs,
        taps,
        nics: Object.fromEntries(nics.nics.map((n) => [n.key, n])),
        volumes: Object.fromEntries(config.drives.flatMap((d) => (d.source.kind === 'volume' ? [[d.key, d.source.volid]] : []))),
        argv: cmd.argv,
      };
      await writeRuntimeRecord(paths.runtimeFile, record);
      const placement = await resources.place({ vmid: ctx.vmid, pid, limits: this.#limits(config), log: ctx.log });
      await writeRuntimeRecord(paths.runtimeFile, { ...record, placement });
      await withQmp(
        paths.qmp,
        async (qmp) => {
          // Taps exist once QEMU runs; the CPUs wait (-S) until every NIC is plugged. The
          // cleanup registered above unplugs them (the record names them) on failure.
          for (const nic of nics.nics) await ctx.network.plug(nic);
          for (const n of config.nets) if (n.net.link_down) await qmp.execute('set_link', { name: n.key, up: false });
          if (options.stateVolid) await loadVmState(ctx, qmp, options.stateVolid);
          if (config.freeze && !options.stateVolid) {
            ctx.log.info('freeze: 1: VM left paused');
            return;
          }
          await qmp.execute('cont');
          const status = await qmp.execute('query-status');
          if (!status.running) throw new ProtocolError('qemu', `VM ${ctx.vmid} did not start running (QMP status '${status.status}')`);
        },
        { signal: ctx.signal },
      );
    }, { log: ctx.log });
  }

  async stop(ctx: GuestContext, _entries: GuestConfigEntries, options: { timeoutMs?: number }): Promise<void> {
    const paths = qemuRunPaths(ctx.runDir);
    const pid = await findQemuPid(paths.pidFile);
    if (!pid) throw new InvalidStateError('stopped', `VM ${ctx.vmid} is not running`);
    await this.#terminate(ctx, paths, pid, options.timeoutMs ?? this.#options.stopTimeoutMs ?? 10_000);
    await this.#cleanup(ctx, paths, {});
    ctx.log.info(`VM ${ctx.vmid} stopped`);
  }

  async shutdown(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs: number }): Promise<void> {
    const config = parseQemuConfig(entries, { vmid: ctx.vmid });
    const paths = qemuRunPaths(ctx.runDir);
    const pid = await findQemuPid(paths.pidFile);
    if (!pid) throw new InvalidStateError('stopped', `VM ${ctx.vmid} is not running`);
    await this.#requestShutdown(ctx, config, paths, 'powerdown');
    await waitForExit(pid, { timeoutMs: options.timeoutMs, what: `VM ${ctx.vmid} to shut down`, pidFile: paths.pidFile });
    await this.#cleanup(ctx, paths, {});
    ctx.log.info(`VM ${ctx.vmid} shut down`);
  }

  /**
   * Clean reboot as qemu-server does it: a clean shutdown (agent or ACPI) within `timeoutMs`,
   * then a fresh start (so QEMU itself restarts, with the same config).
   */
  async reboot(ctx: GuestContext, entries: GuestConfigEntries, options: { timeoutMs: number }): Promise<void> {
    await this.shutdown(ctx, entries, options);
    await this.start(ctx, entries, {});
  }

  /** Hard reset of a running VM (QMP `system_reset`), as `qm reset`. */
  async reset(ctx: GuestContext): Promise<void> {
    await this.#requireRunning(ctx);
    await withQmp(qemuRunPaths(ctx.runDir).qmp, (qmp) => qmp.execute('system_reset'));
  }

  async suspend(ctx: GuestContext): Promise<void> {
    await this.#requireRunning(ctx);
    await withQmp(qemuRunPaths(ctx.runDir).qmp, (qmp) => qmp.execute('stop'));
  }

  async resume(ctx: GuestContext): Promise<void> {
    await this.#requireRunning(ctx);
    await withQmp(qemuRunPaths(ctx.runDir).qmp, (qmp) => qmp.execute('cont'));
  }

  async status(ctx: GuestContext, entries: GuestConfigEntries): Promise<GuestRuntimeStatus> {
    const paths = qemuRunPaths(ctx.runDir);
    const pid = await findQemuPid(paths.pidFile);
    if (!pid) return { state: 'stopped' };
    const stat = await readProcStat(pid);
    let memoryMiB: number | undefined;
    try {
      memoryMiB = parseQemuConfig(entries, { vmid: ctx.vmid }).memoryMiB;
    } catch {
      memoryMiB = undefined;
    }
    const base = {
      pid,
      uptimeSec: stat?.uptimeSec,
      memoryBytes: stat?.rssBytes,
      maxMemoryBytes: memoryMiB === undefined ? undefined : memoryMiB * 1024 * 1024,
      cpuSeconds: stat?.cpuSeconds,
    };
    const record = await readRuntimeRecord(paths.runtimeFile);
    const started = {
      accel: record?.accel,
      accelReason: record?.accelReason,
      qemuLog: record?.logs?.qemu,
      serialLogs: record?.logs?.serial,
      placement: record?.placement,
    };
    try {
      const qmpStatus = await withQmp(paths.qmpStatus, (qmp) => qmp.execute('query-status', undefined, { timeoutMs: 3_000 }), { timeoutMs: 3_000 });
      return { state: qmpStatus.running ? 'running' : 'paused', ...base, detail: { qmpStatus: qmpStatus.status, ...started } };
    } catch (err) {
      // The process runs but does not answer (busy, or just exiting): report it running.
      return { state: 'running', ...base, detail: { qmpError: (err as Error).message, ...started } };
    }
  }

  // ------------------------------------------------------------------ snapshots

  async snapshotCreate(
    ctx: GuestContext,
    entries: GuestConfigEntries,
    options: { name: string; withState: boolean; running: boolean; revert: Reverter; recordState?: (volid: string) => Promise<void> },
  ): Promise<{ vmstate?: string }> {
    const config = parseQemuConfig(entries, { vmid: ctx.vmid });
    return createSnapshot(ctx, config, qemuRunPaths(ctx.runDir), options);
  }

  /** After an interrupted snapshot of a running VM: cancels its RAM-state job, removes its block nodes, thaws and resumes the VM. Other locks need nothing. */
  async recover(ctx: GuestContext, entries: GuestConfigEntries, options: { lock: string }): Promise<void> {
    if (options.lock !== 'snapshot') return;
    const paths = qemuRunPaths(ctx.runDir);
    if (!(await findQemuPid(paths.pidFile))) return;
    await recoverInterruptedSnapshot(ctx, parseQemuConfig(entries, { vmid: ctx.vmid }), paths);
  }

  async snapshotRollback(ctx: GuestContext, snapshotEntries: GuestConfigEntries, options: { name: string }): Promise<void> {
    const paths = qemuRunPaths(ctx.runDir);
    if (await findQemuPid(paths.pidFile)) throw new InvalidStateError('running', `VM ${ctx.vmid} must be stopped for a rollback`);
    await rollbackSnapshot(ctx, parseQemuConfig(snapshotEntries, { vmid: ctx.vmid }), options.name);
  }

  async snapshotDelete(ctx: GuestContext, snapshotEntries: GuestConfigEntries, options: { name: string; running: boolean }): Promise<void> {
    const config = parseQemuConfig(snapshotEntries, { vmid: ctx.vmid });
    await deleteSnapshot(ctx, config, qemuRunPaths(ctx.runDir), options);
  }

  // ------------------------------------------------------------------ live changes, consoles, agent

  async applyChanges(ctx: GuestContext, before: GuestConfigEntries, after: GuestConfigEntries, changed: readonly string[]): Promise<ApplyChangesResult> {
    const b = parseQemuConfig(before, { vmid: ctx.vmid });
    const a = parseQemuConfig(after, { vmid: ctx.vmid });
    await this.#requireRunning(ctx);
    return applyHotplug(
      {
        ctx,
        paths: qemuRunPaths(ctx.runDir),
        host: await this.#hostFeatures(ctx.runner),
        resources: await this.resourceControl(),
        memoryLimit: (c) => this.#limits(c).memoryBytes!,
      },
      { entries: before, config: b },
      { entries: after, config: a },
      changed,
    );
  }

  async openConsole(ctx: GuestContext, entries: GuestConfigEntries, kind: 'vnc' | 'serial' | 'console'): Promise<ConsoleEndpoint> {
    const paths = qemuRunPaths(ctx.runDir);
    if (kind === 'vnc') return { kind: 'unix', protocol: 'rfb', path: paths.vnc };
    if (kind === 'serial') {
      const config = parseQemuConfig(entries, { vmid: ctx.vmid });
      if (config.serials.get(0)?.kind !== 'socket') throw new NotSupportedError('serial console', `VM ${ctx.vmid} has no 'serial0: socket'`);
      return { kind: 'unix', protocol: 'serial', path: paths.serial(0) };
    }
    throw new NotSupportedError('console', `VMs have 'vnc' and 'serial' consoles, not '${kind}'`);
  }

  async showCommand(ctx: GuestContext, entries: GuestConfigEntries): Promise<readonly string[]> {
    let config = parseQemuConfig(entries, { vmid: ctx.vmid });
    const host = await this.#hostFeatures(ctx.runner, config);
    const nics = await checkNics(ctx, config, entries);
    config = await this.#checkHost(config);
    const volumes = await withReverter((revert) => this.#resolveVolumes(ctx, config, revert), { log: ctx.log });
    return this.#commandLine(config, qemuRunPaths(ctx.runDir), host, volumes, nics.bridgeMtus).argv;
  }

  async exec(ctx: GuestContext, entries: GuestConfigEntries, argv: readonly string[], options: { timeoutMs?: number; input?: string }): Promise<GuestExecResult> {
    const config = parseQemuConfig(entries, { vmid: ctx.vmid });
    if (!config.agent.enabled) throw new NotSupportedError('exec', `VM ${ctx.vmid} has no guest agent (set 'agent: 1')`);
    const qga = await QgaClient.connect(qemuRunPaths(ctx.runDir).qga, { timeoutMs: Math.min(options.timeoutMs ?? 30_000, 30_000), signal: ctx.signal });
    try {
      const r = await qga.run({ path: argv[0]!, args: argv.slice(1), input: options.input }, { timeoutMs: options.timeoutMs ?? 60_000, signal: ctx.signal });
      return { exitCode: r.exitCode ?? 128 + (r.signal ?? 0), stdout: r.stdout, stderr: r.stderr };
    } finally {
      await qga.close();
    }
  }

  // ------------------------------------------------------------------ internals

  #commandLine(config: QemuConfig, paths: QemuRunPaths, host: QemuHostFeatures, volumes: ReadonlyMap<string, VolumeAccess>, bridgeMtus: ReadonlyMap<string, number>): QemuCommandLine {
    return buildQemuCommandLine({ config, paths, host, volumes, bridgeMtus, binary: this.#options.binary ?? DEFAULT_QEMU_BINARY, paused: true, daemonize: true });
  }

  /**
   * The host's features for starting `config` (the KVM probe runs when KVM is wanted and not
   * forced; cached per host boot). Without a config (hotplug into a running VM, whose
   * accelerator is chosen already) neither the probe nor `CORRAL_QEMU_ACCEL` is looked at.
   *
   * @throws InvalidArgumentError naming `CORRAL_QEMU_ACCEL` when it has a bad value.
   */
  #hostFeatures(runner: CommandRunner, config?: QemuConfig): Promise<QemuHostFeatures> {
    if (this.#options.hostFeatures) return this.#options.hostFeatures();
    if (!config) return probeHostFeatures(runner, { probeKvm: false });
    return probeHostFeatures(runner, {
      kvmProbe: this.#kvmProbe,
      accelerator: acceleratorMode(this.#options.accelerator),
      probeKvm: config.kvm,
      cpuModel: config.cpu.type,
    });
  }

  #limits(config: QemuConfig): { cpuLimit?: number; cpuUnits?: number; memoryBytes: number } {
    return {
      cpuLimit: config.cpulimit,
      cpuUnits: config.cpuunits,
      memoryBytes: (config.memoryMiB + (this.#options.memoryOverheadMiB ?? 512)) * 1024 * 1024,
    };
  }

  async #requireRunning(ctx: GuestContext): Promise<number> {
    const pid = await findQemuPid(qemuRunPaths(ctx.runDir).pidFile);
    if (!pid) throw new InvalidStateError('stopped', `VM ${ctx.vmid} is not running`);
    return pid;
  }

  /** Host checks done before anything runs: PCI devices (functions expanded). NICs: {@link checkNics}. */
  async #checkHost(config: QemuConfig): Promise<QemuConfig> {
    const hostpci: QemuHostPciSpec[] = [];
    for (const h of config.hostpci) {
      const hosts: string[] = [];
      for (const addr of h.hosts) {
        if (addr.endsWith('.*')) {
          const prefix = addr.slice(0, -1);
          const fns = (await readdir('/sys/bus/pci/devices').catch(() => [] as string[])).filter((d) => d.startsWith(prefix)).sort();
          if (fns.length === 0) throw new InvalidConfigError(h.key, addr, `invalid value for '${h.key}': PCI device ${addr.slice(0, -2)} does not exist on this host`);
          hosts.push(...fns);
        } else {
          try {
            await stat(`/sys/bus/pci/devices/${addr}`);
          } catch {
            throw new InvalidConfigError(h.key, addr, `invalid value for '${h.key}': PCI device ${addr} does not exist on this host`);
          }
          hosts.push(addr);
        }
      }
      hostpci.push({ ...h, hosts });
    }
    return { ...config, hostpci };
  }

  /** Resolves every volume of the config for QEMU (deactivated again on failure). */
  async #resolveVolumes(ctx: GuestContext, config: QemuConfig, revert: Reverter): Promise<Map<string, VolumeAccess>> {
    const out = new Map<string, VolumeAccess>();
    const sources = [...config.drives.map((d) => ({ key: d.key, source: d.source, format: d.drive.format })), ...(config.efidisk ? [{ key: 'efidisk0', source: config.efidisk.source, format: config.efidisk.format }] : [])];
    for (const { key, source, format } of sources) {
      if (source.kind === 'volume') {
        if (NEW_VOLUME.test(source.volid)) {
          throw new InvalidConfigError(key, source.volid, `'${key}' asks for a new volume (${source.volid}): create it through the guest facade first`);
        }
        out.set(key, await ctx.storage.resolve(source.volid, { consumer: 'qemu' }));
        revert.add(() => ctx.storage.deactivateVolume(source.volid), `deactivate ${source.volid}`);
      } else if (source.kind === 'path') {
        let isBlock: boolean;
        try {
          isBlock = (await stat(source.path)).isBlockDevice();
        } catch {
          throw new InvalidConfigError(key, source.path, `invalid value for '${key}': ${source.path} does not exist`);
        }
        out.set(key, isBlock ? { kind: 'block', path: source.path, format: 'raw' } : { kind: 'file', path: source.path, format: (format as VolumeFormat | undefined) ?? 'raw' });
      }
    }
    return out;
  }

  /** OVMF variables: a temporary copy without efidisk0, or the template written into a blank efidisk0 file. */
  async #prepareEfiVars(config: QemuConfig, host: QemuHostFeatures, paths: QemuRunPaths, volumes: ReadonlyMap<string, VolumeAccess>): Promise<void> {
    const fw = host.ovmf?.[config.efidisk?.efitype ?? '4m'];
    if (!fw) return; // buildQemuCommandLine reports it
    if (!config.efidisk) {
      await copyFile(fw.vars, paths.efivars, constants.COPYFILE_FICLONE);
      return;
    }
    const access = volumes.get('efidisk0');
    if (access?.kind !== 'file' || access.format !== 'raw') return;
    const fh = await open(access.path, 'r+');
    try {
      const head = Buffer.alloc(64);
      await fh.read(head, 0, 64, 0);
      if (head.some((b) => b !== 0)) return;
      const template = await open(fw.vars, 'r');
      try {
        const data = await template.readFile();
        await fh.write(data, 0, data.length, 0);
      } finally {
        await template.close();
      }
    } finally {
      await fh.close();
    }
  }

  /** Asks the guest to power down: guest agent when `agent: 1` and it answers, else ACPI. Resumes a paused VM first. */
  async #requestShutdown(ctx: GuestContext, config: QemuConfig, paths: QemuRunPaths, mode: 'powerdown' | 'reboot'): Promise<void> {
    await withQmp(paths.qmp, async (qmp) => {
      const status = await qmp.execute('query-status');
      if (!status.running && status.status === 'paused') {
        ctx.log.info('VM is paused: resuming it so that it can shut down');
        await qmp.execute('cont');
      }
    });
    if (config.agent.enabled) {
      try {
        const qga = await QgaClient.connect(paths.qga, { timeoutMs: 5_000 });
        try {
          await qga.shutdown({ mode });
        } finally {
          await qga.close();
        }
        ctx.log.info(`asked the guest agent to ${mode}`);
        return;
      } catch (err) {
        ctx.log.warn(`guest agent did not take the shutdown (${(err as Error).message}): using ACPI`);
      }
    }
    await withQmp(paths.qmp, (qmp) => qmp.execute('system_powerdown'));
    ctx.log.info('sent ACPI power button event');
  }

  /** QMP `quit`, then SIGKILL when the process is still there after `timeoutMs`. */
  async #terminate(ctx: GuestContext, paths: QemuRunPaths, pid: number, timeoutMs: number): Promise<void> {
    try {
      const qmp = await QmpClient.connect(paths.qmp, { timeoutMs: Math.min(timeoutMs, 5_000) });
      try {
        await qmp.execute('quit', undefined, { timeoutMs: Math.min(timeoutMs, 5_000) }).catch(() => undefined);
      } finally {
        await qmp.close();
      }
    } catch (err) {
      ctx.log.warn(`QMP quit failed (${(err as Error).message}): killing QEMU`);
    }
    try {
      await waitForExit(pid, { timeoutMs, what: `QEMU of VM ${ctx.vmid} to exit`, pidFile: paths.pidFile });
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err;
      ctx.log.warn(`QEMU (pid ${pid}) still runs ${timeoutMs} ms after quit: SIGKILL`);
      signalProcess(pid, 'SIGKILL');
      await waitForExit(pid, { timeoutMs: 10_000, what: `QEMU of VM ${ctx.vmid} to die after SIGKILL`, pidFile: paths.pidFile });
    }
  }

  /**
   * Removes what a (possibly crashed) run left: kills a QEMU that still runs (start's undo),
   * taps, the resource placement, volume activations, sockets, pid file and runtime record.
   */
  async #cleanup(ctx: GuestContext, paths: QemuRunPaths, options: { quiet?: boolean }): Promise<void> {
    const pid = await findQemuPid(paths.pidFile);
    if (pid) await this.#terminate(ctx, paths, pid, 3_000);
    const record = await readRuntimeRecord(paths.runtimeFile);
    const problems: string[] = [];
    if (record) {
      // QEMU's taps went with it; their firewall ports and hooks' state go here.
      for (const nic of Object.values(record.nics ?? {})) await ctx.network.unplug(nic).catch((e: Error) => problems.push(e.message));
      if (record.placement) {
        const rc = await this.resourceControl();
        await rc.release(record.placement).catch((e: Error) => problems.push(e.message));
      }
      for (const volid of new Set(Object.values(record.volumes))) {
        await ctx.storage.deactivateVolume(volid).catch((e: Error) => problems.push(e.message));
      }
    }
    for (const f of await readdir(paths.dir).catch(() => [] as string[])) {
      if (f.endsWith('.sock') || f === 'qemu.pid' || f === 'runtime.json' || f === 'runtime.json.tmp' || f === 'efivars.fd') {
        await rm(`${paths.dir}/${f}`, { force: true });
      }
    }
    if (problems.length > 0 && !options.quiet) ctx.log.warn(`cleanup of VM ${ctx.vmid}: ${problems.join('; ')}`);
  }
}
